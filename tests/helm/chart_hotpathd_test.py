#!/usr/bin/python3
"""The configuration the Helm chart renders, run by the real hotpathd: with the pod's volumes
laid out in a temp dir from the rendered manifests, hotpath.yaml passes `hotpathd
--check-config`, and hotpathd starts, serves and drains with it.

Usage: /usr/bin/python3 tests/helm/chart_hotpathd_test.py --hotpathd PATH [--chart helm/hotpath] [unittest args]
"""
import os
import re
import sys
import tempfile
import unittest
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "tools", "common")]
from hotpathd import Hotpathd  # noqa: E402
from chart_support import (  # noqa: E402
    PodFiles,
    UNITTEST_ARGS,
    check_config_output,
    clean_env,
    container,
    everything_on,
    go_duration_seconds,
    hotpathd_binary,
    load_yaml,
    make_tls,
    minimal_access_file,
    render_docs,
)


class HotpathdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="helm_chart_test_")
        cls.tls = make_tls(cls.tmp.name)
        access = minimal_access_file()
        cls.secrets = {"hotpath-tls": cls.tls, "my-keys": {"keys.yaml": access}}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def scenarios(self):
        policies = everything_on()["rateLimit"]["policies"]
        return [
            ("default", [{}]),
            ("everything-on", [everything_on()]),
            ("tls-grpcTLS-probe", [{"tls": {"enabled": True, "existingSecret": "hotpath-tls"},
                                    "probes": {"type": "grpcTLS"}}]),
            ("auth-existing-secret", [{"auth": {"enabled": True, "existingSecret": "my-keys",
                                                "existingSecretKey": "keys.yaml"},
                                       "rateLimit": {"policies": policies}}]),
        ]

    def pod_config(self, name, overrides):
        """Lays out the pod's files -> (PodFiles, config with paths moved here, its new path)."""
        _, docs = render_docs(*overrides)
        root = tempfile.mkdtemp(prefix=name + "_", dir=self.tmp.name)
        files = PodFiles(docs, root, self.secrets)
        args = container(docs)["args"]
        config_path = files.host(args[args.index("--config") + 1])
        config = load_yaml(config_path)
        files.host(config["persistence"]["data_dir"], writable=True)
        for section in config.values():
            for key, value in section.items():
                if isinstance(value, str) and value.startswith("/"):
                    section[key] = files.host(value)
                    if key != "data_dir":
                        self.assertTrue(os.path.exists(section[key]),
                                        "%s: %s is not mounted" % (key, value))
        return files, config, os.path.join(root, "hotpath.yaml")

    def test_rendered_config_passes_check_config(self):
        for name, overrides in self.scenarios():
            with self.subTest(scenario=name):
                _, config, path = self.pod_config(name, overrides)
                with open(path, "w") as f:
                    yaml.safe_dump(config, f)
                effective = check_config_output(["--check-config", "--config", path])
                self.assertEqual(effective["server.grpc_address"], "0.0.0.0:7070")
                self.assertEqual(effective["server.metrics_address"], "0.0.0.0:9464")
                self.assertEqual(effective["server.allow_plaintext"],
                                 "false" if "tls" in config else "true")
                self.assertEqual(effective["persistence.data_dir"],
                                 config["persistence"]["data_dir"])
                for section, options in config.items():
                    for key, value in options.items():
                        if isinstance(value, str) and re.fullmatch(r"[0-9]+s", value):
                            seconds = go_duration_seconds(effective["%s.%s" % (section, key)])
                            self.assertEqual(seconds, go_duration_seconds(value))
                        else:
                            text = str(value).lower() if isinstance(value, bool) else str(value)
                            self.assertEqual(effective["%s.%s" % (section, key)], text)

    def test_check_config_catches_a_bad_option(self):
        """Proves the check above can fail: a typo in the rendered config is refused."""
        _, config, path = self.pod_config("typo", [{}])
        config["server"]["drain_timout"] = "5s"
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        run = check_config_output(["--check-config", "--config", path], expect_ok=None)
        self.assertEqual(run.returncode, 2, run.stdout)
        self.assertIn("drain_timout", run.stderr)

    def test_hotpathd_serves_the_rendered_config(self):
        """hotpathd starts with each rendered config (TLS files, access file, policies, Envoy
        configuration, data directory), serves /metrics and drains on SIGTERM with exit 0.
        Only the listen addresses change, to free loopback ports."""
        binary = hotpathd_binary()
        for name, overrides in self.scenarios():
            with self.subTest(scenario=name):
                files, config, path = self.pod_config(name, overrides)
                with open(path, "w") as f:
                    yaml.safe_dump(config, f)
                data_dir = config["persistence"]["data_dir"]
                with Hotpathd(binary, ["--config", path], timeout=60, data_dir=data_dir,
                              env=clean_env(), cwd=os.path.dirname(path)) as server:
                    with urllib.request.urlopen(server.metrics_url, timeout=10) as r:
                        self.assertIn("hotpath_", r.read().decode())
                    self.assertEqual(server.stop(), 0, server.output())
                self.assertTrue(os.path.exists(os.path.join(data_dir, "MANIFEST")),
                                os.listdir(data_dir))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + UNITTEST_ARGS, verbosity=2)
