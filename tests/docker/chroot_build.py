"""Builds the Dockerfile's image without Docker, in chroots, then runs it (make docker-check).

No Docker engine runs on these machines, so this executes the Dockerfile itself: each stage
starts from a Debian 12 root made by debootstrap (minbase, which is what debian:bookworm-slim
is), COPY copies from the build context (honouring .dockerignore) or an earlier stage, RUN runs
under /bin/sh -c in a chroot (with /proc, /dev and the host's DNS). Only the instructions the
Dockerfile uses are understood; any other one stops the build.

Then the final stage is run as the image would run: its USER starts its ENTRYPOINT (hotpathd on
free loopback ports, data in the image's data directory); the hotpath CLI inside the image calls
it; after it stops, hotpath-check verifies what it wrote.

    /usr/bin/python3 tests/docker/chroot_build.py [--work DIR]      # as root; about 15 minutes
"""

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASES = {"debian:bookworm": "bookworm", "debian:bookworm-slim": "bookworm"}


def log(*args):
    print("chroot_build:", *args, flush=True)


class Mounts:
    """/proc and /dev inside a root for the length of a block; always unmounted."""

    def __init__(self, root):
        self.root = root

    def __enter__(self):
        subprocess.run(["mount", "-t", "proc", "proc", self.root + "/proc"], check=True)
        subprocess.run(["mount", "--bind", "/dev", self.root + "/dev"], check=True)
        shutil.copy("/etc/resolv.conf", self.root + "/etc/resolv.conf")
        return self

    def __exit__(self, *exc):
        for mount in ("/dev", "/proc"):
            subprocess.run(["umount", "-l", self.root + mount], check=False)
        return False


def base_root(work, image):
    if image not in BASES:
        raise SystemExit("chroot_build: no base for image %r" % image)
    cached = os.path.join(work, "base-" + BASES[image])
    if not os.path.exists(cached + "/.done"):
        shutil.rmtree(cached, ignore_errors=True)
        log("debootstrap", BASES[image])
        subprocess.run(["debootstrap", "--variant=minbase", BASES[image], cached,
                        "http://deb.debian.org/debian"], check=True, stdout=subprocess.DEVNULL)
        open(cached + "/.done", "w").close()
    return cached


def ignored(patterns, relative):
    return any(fnmatch.fnmatch(relative + "/", p) or fnmatch.fnmatch(relative, p.rstrip("/"))
               for p in patterns)


def copy_context(patterns, destination):
    for entry in sorted(os.listdir(ROOT)):
        if ignored(patterns, entry):
            continue
        source = os.path.join(ROOT, entry)
        target = os.path.join(destination, entry)
        if os.path.isdir(source) and not os.path.islink(source):
            shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True,
                            ignore=lambda d, names: [n for n in names if ignored(
                                patterns, os.path.relpath(os.path.join(d, n), ROOT))])
        else:
            shutil.copy2(source, target, follow_symlinks=False)


def build(work):
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        patterns = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    roots = {}
    final = None
    for index, stage in enumerate(dockerfile.read(os.path.join(ROOT, "Dockerfile"))):
        image, _, name = stage[0][1].partition(" AS ")
        root = os.path.join(work, "stage%d" % index)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["cp", "-a", base_root(work, image.strip()), root], check=True)
        roots[name.strip() or str(index)] = root
        config = {"WORKDIR": "/", "USER": "0"}
        for keyword, argument in stage[1:]:
            if keyword == "WORKDIR":
                config["WORKDIR"] = argument
                os.makedirs(root + argument, exist_ok=True)
            elif keyword == "COPY":
                words = shlex.split(argument)
                source_stage = None
                if words[0].startswith("--from="):
                    source_stage = words.pop(0)[len("--from="):]
                source, target = words
                target = os.path.join(config["WORKDIR"], target) if not target.startswith("/") else target
                if source_stage is None:
                    if source != ".":
                        raise SystemExit("chroot_build: COPY from the context supports '.' only")
                    copy_context(patterns, root + target)
                else:
                    subprocess.run(["cp", "-a", roots[source_stage] + source.rstrip("/") + "/.",
                                    root + target], check=True)
            elif keyword == "RUN":
                log("stage", index, "RUN", argument[:100])
                with Mounts(root):
                    subprocess.run(["chroot", root, "/bin/sh", "-c",
                                    "cd %s && %s" % (shlex.quote(config["WORKDIR"]), argument)],
                                   check=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                                    "HOME": "/root", "DEBIAN_FRONTEND":
                                                    "noninteractive"})
            elif keyword in ("USER", "ENTRYPOINT", "CMD", "EXPOSE", "VOLUME"):
                config[keyword] = argument
            else:
                raise SystemExit("chroot_build: instruction %s is not understood" % keyword)
        final = (root, config)
    return final


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_image(root, config):
    entrypoint = json.loads(config["ENTRYPOINT"])
    user = config["USER"]
    grpc_port, metrics_port = free_port(), free_port()
    args = entrypoint + ["--server.grpc_address=127.0.0.1:%d" % grpc_port,
                         "--server.metrics_address=127.0.0.1:%d" % metrics_port,
                         "--persistence.data_dir=/var/lib/hotpath/data"]
    as_user = ["chroot", "--userspec=" + user, root]
    with Mounts(root):
        server = subprocess.Popen(as_user + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        output = ""
        deadline = time.monotonic() + 60
        while "event=serving" not in output and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            output += line
        if "event=serving" not in output:
            server.kill()
            raise SystemExit("chroot_build: hotpathd did not serve in the image:\n" + output)
        log("hotpathd serves in the image as user", user)
        target = "--target=127.0.0.1:%d" % grpc_port
        for command in (["session", "create", "alice"], ["admin", "snapshot"], ["admin", "info"]):
            result = subprocess.run(as_user + ["/usr/local/bin/hotpath", target] + command,
                                    capture_output=True, text=True, timeout=30)
            if result.returncode != 0:
                server.kill()
                raise SystemExit("chroot_build: hotpath %s failed in the image:\n%s"
                                 % (" ".join(command), result.stderr))
        log("the hotpath CLI works in the image")
        server.terminate()
        server.wait(timeout=30)
        check = subprocess.run(as_user + ["/usr/local/bin/hotpath-check", "/var/lib/hotpath/data"],
                               capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise SystemExit("chroot_build: hotpath-check failed:\n" + check.stdout + check.stderr)
        log("hotpath-check verifies the data hotpathd wrote:", check.stdout.strip().splitlines()[-1])
        uid = os.stat(root + "/var/lib/hotpath/data").st_uid
        if str(uid) != user.split(":")[0]:
            raise SystemExit("chroot_build: the data directory belongs to uid %d" % uid)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "image"),
                        help="where the stage roots go (default build/image)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("chroot_build: needs root (debootstrap, chroot, mount)")
    os.makedirs(args.work, exist_ok=True)
    start = time.monotonic()
    root, config = build(args.work)
    log("image built in %.0f s" % (time.monotonic() - start))
    run_image(root, config)
    log("done in %.0f s" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
