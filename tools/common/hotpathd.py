"""Runs the real hotpathd for Python tests and tools (the examples, the chart test, the image
check, make bench): loopback, free ports, bounded waits.

    with Hotpathd(path, ["--ratelimit.envoy_config=..."]) as server:
        channel = grpc.insecure_channel(server.grpc_address)

Entering starts hotpathd on 127.0.0.1 port 0 (gRPC and metrics) and waits, at most `timeout`
seconds and woken by the output itself, for its whole event=serving line (logfmt or JSON),
which gives the bound addresses; it raises with the output if hotpathd exits first. Afterwards
a thread keeps reading the output, so a chatty server never blocks on a full pipe. Leaving the
block stops it: SIGTERM, then SIGKILL after 30 s; stop() does the same and returns the exit
status.

`data_dir`: the data directory (default: a fresh temporary one, removed afterwards).
`prefix`: words before the binary, e.g. ["chroot", "--userspec=10001:10001", ROOT].
"""

import json
import os
import re
import select
import subprocess
import tempfile
import threading
import time


def serving_fields(line):
    """The fields of an event=serving log line, or None for any other line."""
    line = line.strip()
    if line.startswith("{"):
        try:
            fields = json.loads(line)
        except ValueError:
            return None
    else:
        fields = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line))
        fields = {k: v[1:-1] if v.startswith('"') else v for k, v in fields.items()}
    return fields if fields.get("event") == "serving" else None


class Hotpathd:
    def __init__(self, path, args=(), timeout=30.0, data_dir=None, prefix=(), env=None,
                 cwd=None):
        self._argv = list(prefix) + [path, "--server.grpc_address=127.0.0.1:0",
                                     "--server.metrics_address=127.0.0.1:0"] + list(args)
        self._timeout = timeout
        self._data_dir = data_dir
        self._env = env
        self._cwd = cwd
        self._process = None
        self._temp = None
        self._reader = None
        self._lock = threading.Lock()
        self._output = ""
        self.grpc_address = None
        self.metrics_url = None

    @property
    def pid(self):
        return self._process.pid

    def output(self):
        with self._lock:
            return self._output

    def __enter__(self):
        data_dir = self._data_dir
        if data_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="hotpathd-")
            data_dir = os.path.join(self._temp.name, "data")
        self._process = subprocess.Popen(
            self._argv + ["--persistence.data_dir=" + data_dir], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=self._env, cwd=self._cwd)
        try:
            fields = self._wait_for_serving()
        except BaseException:
            self.stop()
            raise
        self.grpc_address = fields["grpc"]
        self.metrics_url = fields.get("metrics")
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _wait_for_serving(self):
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + self._timeout
        pending = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError("hotpathd did not serve in time:\n" + self._output)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("hotpathd exited before serving:\n" + self._output)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace")
                self._output += text + "\n"
                fields = serving_fields(text)
                if fields is not None:
                    self._output += pending.decode(errors="replace")
                    return fields

    def _drain(self):
        for chunk in iter(lambda: os.read(self._process.stdout.fileno(), 65536), b""):
            with self._lock:
                self._output += chunk.decode(errors="replace")

    def stop(self):
        """Stops hotpathd (SIGTERM, SIGKILL after 30 s) and returns its exit status."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
        self._process.stdout.close()
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None
        return self._process.returncode
