"""Builds the Dockerfile's image without Docker, in chroots, then runs it (make docker-check).

No Docker engine runs on these machines, so this executes the Dockerfile itself: each stage
starts from a Debian 12 root made by debootstrap (minbase: the required packages and apt, as
in debian:bookworm-slim; debian:bookworm has a few more, which the build stage does not
need), COPY copies from the build context (honouring .dockerignore) or an earlier stage, RUN runs
under /bin/sh -c in a chroot (with /proc, /dev and the host's DNS). Only the instructions the
Dockerfile uses are understood; any other one stops the build.

Then the final stage is run as the image would run: its ENTRYPOINT and CMD pass
--check-config as its USER; the same user starts the ENTRYPOINT (hotpathd on free loopback
ports, data in the image's data directory); the hotpath CLI inside the image calls it; after
it stops (exit 0), hotpath-check verifies what it wrote.

    /usr/bin/python3 tests/docker/chroot_build.py [--work DIR]      # as root; about 15 minutes
"""

import argparse
import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "tools", "common")]
import dockerfile  # noqa: E402
from hotpathd import Hotpathd  # noqa: E402

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


def run_image(root, config):
    entrypoint = json.loads(config["ENTRYPOINT"])
    command = json.loads(config["CMD"])
    user = config["USER"]
    as_user = ["chroot", "--userspec=" + user, root]
    with Mounts(root):
        # The image's own command line (0.0.0.0, plaintext) is accepted as it stands; it is
        # not served here, where it would take fixed ports on the host.
        checked = subprocess.run(as_user + entrypoint + command + ["--check-config"],
                                 capture_output=True, text=True, timeout=60)
        if checked.returncode != 0:
            raise SystemExit("chroot_build: the image's CMD is refused:\n" + checked.stderr)
        with Hotpathd(entrypoint[0], entrypoint[1:], timeout=60, prefix=as_user,
                      data_dir="/var/lib/hotpath/data") as server:
            log("hotpathd serves in the image as user", user)
            target = "--target=" + server.grpc_address
            for words in (["session", "create", "alice"], ["admin", "snapshot"],
                          ["admin", "health"]):
                result = subprocess.run(as_user + ["/usr/local/bin/hotpath", target] + words,
                                        capture_output=True, text=True, timeout=60)
                if result.returncode != 0:
                    raise SystemExit("chroot_build: hotpath %s failed in the image:\n%s"
                                     % (" ".join(words), result.stderr))
            log("the hotpath CLI works in the image")
            code = server.stop()
            if code != 0:
                raise SystemExit("chroot_build: hotpathd exited %s:\n%s" % (code, server.output()))
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
