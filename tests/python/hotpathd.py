"""Runs the real hotpathd for Python tests: loopback, free ports, bounded waits.

    with Hotpathd(path, ["--ratelimit.envoy_config=..."]) as server:
        channel = grpc.insecure_channel(server.grpc_address)

Start waits (at most `timeout` seconds, woken by the output itself) until hotpathd logs
event=serving and reads the bound gRPC port from that line; it raises with the output if
hotpathd exits first. Leaving the block stops it (SIGTERM, then SIGKILL after 30 s).
"""

import os
import re
import select
import subprocess
import tempfile
import time


class Hotpathd:
    def __init__(self, path, args=(), timeout=30.0):
        self._path = path
        self._args = list(args)
        self._timeout = timeout
        self._process = None
        self._output = ""
        self._dir = None
        self.grpc_address = None

    def __enter__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="hotpathd-")
        argv = [self._path, "--server.grpc_address=127.0.0.1:0",
                "--server.metrics_address=127.0.0.1:0",
                "--persistence.data_dir=" + os.path.join(self._dir.name, "data")] + self._args
        self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self._timeout
        fd = self._process.stdout.fileno()
        while "event=serving" not in self._output:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self._stop()
                raise RuntimeError("hotpathd did not serve in time:\n" + self._output)
            chunk = os.read(fd, 65536)
            if not chunk:
                self._stop()
                raise RuntimeError("hotpathd exited before serving:\n" + self._output)
            self._output += chunk.decode(errors="replace")
        self.grpc_address = re.search(r"event=serving .*?grpc=(\S+)", self._output).group(1)
        return self

    def __exit__(self, *exc):
        self._stop()
        return False

    def _stop(self):
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None:
            self._process.stdout.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
