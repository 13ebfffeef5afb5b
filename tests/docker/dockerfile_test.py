"""Static checks of the Dockerfile (no Docker engine runs on these machines).

    /usr/bin/python3 tests/docker/dockerfile_test.py DOCKERFILE HOTPATHD HOTPATH HOTPATH_CHECK

- two stages: a Debian 12 build stage and a Debian 12 slim runtime stage;
- the runtime stage runs as a non-root user, starts hotpathd, and copies the three binaries the
  build stage builds (its --target list names the same ones);
- every shared library the built binaries load comes from a package the runtime stage installs,
  from the base image, or from the prometheus-cpp libraries copied from the build stage.
"""

import functools
import os
import re
import shlex
import subprocess
import sys
import unittest

DOCKERFILE, BINARIES = sys.argv[1], sys.argv[2:5]
del sys.argv[1:5]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile  # noqa: E402
# In debian:bookworm-slim already (Priority: required).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def apt_packages(stage):
    packages = set()
    for keyword, argument in stage:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;", argument):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                packages.update(w for w in words[2:] if not w.startswith("-"))
    return packages


@functools.lru_cache(maxsize=None)
def package_of(library):
    real = os.path.realpath(library)
    for path in (real, library, "/usr" + real if real.startswith("/lib") else real):
        result = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0]
    return None


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = dockerfile.read(DOCKERFILE)

    def test_two_stages_on_debian_12(self):
        self.assertEqual(len(self.stages), 2)
        self.assertEqual(self.stages[0][0][1], "debian:bookworm AS build")
        self.assertEqual(self.stages[1][0][1], "debian:bookworm-slim")

    def test_runtime_runs_hotpathd_as_a_non_root_user(self):
        runtime = dict(self.stages[1])
        user = runtime["USER"].split(":")[0]
        self.assertNotIn(user, ("0", "root"))
        self.assertIn("/usr/local/bin/hotpathd", runtime["ENTRYPOINT"])
        self.assertIn("7070", runtime["EXPOSE"])

    def test_the_binaries_are_built_and_copied(self):
        build = " ".join(argument for keyword, argument in self.stages[0] if keyword == "RUN")
        targets = re.search(r"--target ([\w\- ]+?) &&", build).group(1).split()
        self.assertEqual(sorted(targets), sorted(os.path.basename(b) for b in BINARIES))
        for binary in targets:
            self.assertRegex(build, r"/%s\b" % re.escape(binary))
        copies = [a for k, a in self.stages[1] if k == "COPY" and a.startswith("--from=build")]
        self.assertIn("--from=build /out/bin/ /usr/local/bin/", copies)

    def test_runtime_installs_every_library_the_binaries_load(self):
        installed = apt_packages(self.stages[1])
        copied_lib = [a for k, a in self.stages[1] if k == "COPY" and "/out/lib/" in a]
        self.assertTrue(copied_lib, "the prometheus-cpp libraries are not copied")
        missing = {}
        for binary in BINARIES:
            ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
            for library in re.findall(r"=> (/\S+)", ldd.stdout):
                if "libprometheus-cpp-" in library:
                    continue  # copied from the build stage
                package = package_of(library)
                self.assertIsNotNone(package, "no package owns " + library)
                if package not in installed | BASE_PACKAGES:
                    missing.setdefault(package, os.path.basename(binary))
        self.assertEqual(missing, {}, "runtime packages the Dockerfile does not install")


if __name__ == "__main__":
    unittest.main()
