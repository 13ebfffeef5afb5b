#!/usr/bin/python3
"""The Helm chart rendered by render.py, with default values and with
everything-on.values.yaml: the structure the deployment needs (StatefulSet, probes, security,
grace > drain, the checksum roll, Services, optional objects only when enabled, ...).

Usage: /usr/bin/python3 tests/helm/chart_render_test.py --hotpathd PATH [--chart helm/hotpath] [unittest args]
"""
import hashlib
import json
import os
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render  # noqa: E402
from chart_support import (  # noqa: E402
    CHART,
    GRACE_MARGIN_S,
    OBSERVABILITY_COPIES,
    REPO,
    UNITTEST_ARGS,
    container,
    everything_on,
    find,
    go_duration_seconds,
    hotpath_config,
    load_yaml,
    pod_spec,
    quantity_bytes,
    render_docs,
)


class RenderedChartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.default_files, cls.default = render_docs()
        cls.all_files, cls.all = render_docs(everything_on())

    def scenarios(self):
        return [("default", self.default, load_yaml(os.path.join(CHART, "values.yaml"))),
                ("everything-on", self.all, render.load_values(CHART, [everything_on()]))]

    def test_every_document_is_a_named_labelled_object(self):
        for name, docs, _ in self.scenarios():
            for d in docs:
                with self.subTest(scenario=name, kind=d.get("kind")):
                    self.assertTrue(d["apiVersion"] and d["kind"] and d["metadata"]["name"])
                    labels = d["metadata"]["labels"]
                    self.assertEqual(labels["app.kubernetes.io/instance"], "hotpath")

    def test_objects_present(self):
        kinds = sorted((d["kind"], d["metadata"]["name"]) for d in self.default)
        self.assertEqual(kinds, [("ConfigMap", "hotpath"), ("Service", "hotpath"),
                                 ("Service", "hotpath-headless"), ("ServiceAccount", "hotpath"),
                                 ("StatefulSet", "hotpath")])
        kinds = sorted((d["kind"], d["metadata"]["name"]) for d in self.all)
        self.assertEqual(kinds, [
            ("ConfigMap", "hotpath"), ("ConfigMap", "hotpath-dashboard"),
            ("PodDisruptionBudget", "hotpath"), ("PrometheusRule", "hotpath"),
            ("Secret", "hotpath-auth"), ("Service", "hotpath"), ("Service", "hotpath-headless"),
            ("ServiceAccount", "hotpath"), ("ServiceMonitor", "hotpath"),
            ("StatefulSet", "hotpath")])

    def test_optional_objects_appear_only_when_enabled(self):
        toggles = [
            ({"pdb": {"enabled": True}}, "PodDisruptionBudget"),
            ({"serviceMonitor": {"enabled": True}}, "ServiceMonitor"),
            ({"prometheusRule": {"enabled": True}}, "PrometheusRule"),
            ({"grafanaDashboard": {"enabled": True}}, "ConfigMap"),
            ({"auth": {"enabled": True, "accessFile": everything_on()["auth"]["accessFile"]}},
             "Secret"),
        ]
        base = [d["kind"] for d in self.default]
        for override, kind in toggles:
            with self.subTest(kind=kind):
                _, docs = render_docs(override)
                self.assertEqual(sorted(d["kind"] for d in docs), sorted(base + [kind]))
        _, docs = render_docs({"serviceAccount": {"create": False}})
        self.assertNotIn("ServiceAccount", [d["kind"] for d in docs])
        self.assertEqual(pod_spec(docs)["serviceAccountName"], "default")

    def test_statefulset(self):
        for name, docs, values in self.scenarios():
            with self.subTest(scenario=name):
                sts = find(docs, "StatefulSet")
                spec = sts["spec"]
                headless = find(docs, "Service", spec["serviceName"])
                self.assertEqual(headless["spec"]["clusterIP"], "None")
                self.assertIs(headless["spec"]["publishNotReadyAddresses"], True)
                self.assertEqual(spec["replicas"], values["replicaCount"])
                self.assertEqual(spec["podManagementPolicy"], values["podManagementPolicy"])
                labels = spec["template"]["metadata"]["labels"]
                self.assertLessEqual(spec["selector"]["matchLabels"].items(), labels.items())
                (vct,) = spec["volumeClaimTemplates"]
                self.assertEqual(vct["metadata"]["name"], "data")
                persistence = values["persistence"]
                self.assertEqual(vct["spec"]["accessModes"], persistence["accessModes"])
                storage = vct["spec"]["resources"]["requests"]["storage"]
                self.assertEqual(storage, persistence["size"])
                if persistence["storageClass"]:
                    self.assertEqual(vct["spec"]["storageClassName"], persistence["storageClass"])
                else:
                    self.assertNotIn("storageClassName", vct["spec"])
                c = container(docs)
                self.assertEqual(c["args"], ["--config", "/etc/hotpath/hotpath.yaml"])
                self.assertEqual({p["name"]: p["containerPort"] for p in c["ports"]},
                                 {"grpc": 7070, "metrics": 9464})
                mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
                self.assertEqual(mounts, {"/etc/hotpath": "config", "/var/lib/hotpath": "data",
                                          "/tmp": "tmp"})
                self.assertIn("emptyDir", {v["name"]: v for v in pod_spec(docs)["volumes"]}["tmp"])
                # hotpathd refuses a directory holding other files but no MANIFEST, so the data
                # directory is one of its own inside the volume, not the volume's root.
                self.assertEqual(hotpath_config(docs)["persistence"]["data_dir"],
                                 "/var/lib/hotpath/data")
        self.assertEqual(find(self.all, "StatefulSet")["spec"]["volumeClaimTemplates"][0]["spec"]
                         ["storageClassName"], "fast-ssd")
        _, docs = render_docs({"persistence": {"storageClass": "-"}})
        self.assertEqual(find(docs, "StatefulSet")["spec"]["volumeClaimTemplates"][0]["spec"]
                         ["storageClassName"], "")

    def test_probes(self):
        c = container(self.default)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            with self.subTest(probe=probe):
                self.assertEqual(c[probe]["grpc"], {"port": 7070})
                self.assertEqual(hotpath_config(self.default)["server"]["grpc_address"],
                                 "0.0.0.0:7070")
        startup = c["startupProbe"]
        self.assertGreaterEqual(startup["periodSeconds"] * startup["failureThreshold"], 600,
                                "the startup probe should allow minutes of recovery")
        _, docs = render_docs({"probes": {"service": "hotpath.ratelimit.v1.RateLimiterService",
                                          "startup": {"enabled": False}}})
        c = container(docs)
        self.assertNotIn("startupProbe", c)
        self.assertEqual(c["readinessProbe"]["grpc"],
                         {"port": 7070, "service": "hotpath.ratelimit.v1.RateLimiterService"})
        _, docs = render_docs({"tls": {"enabled": True, "existingSecret": "s"},
                               "probes": {"type": "grpcTLS"}})
        self.assertEqual(container(docs)["livenessProbe"]["grpc"], {"port": 7070, "mode": "TLS"})
        c = container(self.all)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            self.assertEqual(c[probe]["exec"]["command"], everything_on()["probes"]["execCommand"])

    def test_security(self):
        for name, docs, _ in self.scenarios():
            with self.subTest(scenario=name):
                pod = pod_spec(docs)
                self.assertEqual(pod["securityContext"], {
                    "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                    "fsGroupChangePolicy": "OnRootMismatch",
                    "seccompProfile": {"type": "RuntimeDefault"}})
                sc = container(docs)["securityContext"]
                self.assertIs(sc["readOnlyRootFilesystem"], True)
                self.assertIs(sc["allowPrivilegeEscalation"], False)
                self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
                self.assertIs(pod["automountServiceAccountToken"], False)
                self.assertIs(find(docs, "ServiceAccount")["automountServiceAccountToken"], False)
                # Kubernetes' service links would set HOTPATH_PORT etc. next to a Service named
                # hotpath, and hotpathd exits on unknown HOTPATH_* variables.
                self.assertIs(pod["enableServiceLinks"], False)
                self.assertNotIn("env", container(docs))

    def test_grace_period_exceeds_drain(self):
        for name, docs, values in self.scenarios():
            with self.subTest(scenario=name):
                pod = pod_spec(docs)
                c = container(docs)
                server = hotpath_config(docs)["server"]
                drain = go_duration_seconds(server.get("drain_timeout", "10s"))
                pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {})
                pre_stop = pre_stop.get("seconds", 0)
                self.assertEqual(pre_stop, values["preStopSleepSeconds"])
                self.assertGreater(pod["terminationGracePeriodSeconds"],
                                   pre_stop + drain + GRACE_MARGIN_S)
                live = c["livenessProbe"]
                self.assertGreater(live["periodSeconds"] * live["failureThreshold"], drain,
                                   "liveness must not kill a draining pod")

    def test_chart_refuses_a_grace_period_too_short_for_the_drain(self):
        for override in [{"terminationGracePeriodSeconds": 25},
                         {"preStopSleepSeconds": 10},
                         {"config": {"server": {"drain_timeout": "60s"}}},
                         {"config": {"server": {"drain_timeout": None}},
                          "terminationGracePeriodSeconds": 15}]:
            with self.subTest(values=override), \
                    self.assertRaisesRegex(render.TemplateError, "terminationGracePeriodSeconds"):
                render_docs(override)
        render_docs({"config": {"server": {"drain_timeout": None}},
                     "terminationGracePeriodSeconds": 16})

    def test_checksum_annotation_follows_the_config(self):
        def checksum(*overrides):
            _, docs = render_docs(*overrides)
            pod = find(docs, "StatefulSet")["spec"]["template"]
            return pod["metadata"]["annotations"]["checksum/config"]
        base = checksum()
        self.assertRegex(base, "^[0-9a-f]{64}$")
        configmap = self.default_files["hotpath/templates/configmap.yaml"]
        self.assertEqual(base, hashlib.sha256(configmap.encode()).hexdigest())
        self.assertNotEqual(checksum({"config": {"engine": {"shards": 32}}}), base)
        self.assertNotEqual(checksum({"config": {"server": {"drain_timeout": "21s"}}}), base)
        self.assertNotEqual(checksum({"rateLimit": everything_on()["rateLimit"]}), base)
        self.assertEqual(checksum({"image": {"tag": "0.2.0"}, "replicaCount": 2}), base)

    def test_services(self):
        for name, docs, values in self.scenarios():
            with self.subTest(scenario=name):
                pod_labels = find(docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
                client = find(docs, "Service", "hotpath")
                headless = find(docs, "Service", "hotpath-headless")
                for svc in (client, headless):
                    self.assertLessEqual(svc["spec"]["selector"].items(), pod_labels.items())
                self.assertEqual(client["spec"]["type"], values["service"]["type"])
                self.assertEqual({p["name"]: p["targetPort"] for p in headless["spec"]["ports"]},
                                 {"grpc": "grpc", "metrics": "metrics"})
        client = find(self.default, "Service", "hotpath")
        ports = {p["name"]: (p["port"], p["targetPort"]) for p in client["spec"]["ports"]}
        self.assertEqual(ports, {"grpc": (7070, "grpc"), "metrics": (9464, "metrics")})
        client = find(self.all, "Service", "hotpath")
        ports = {p["name"]: p["port"] for p in client["spec"]["ports"]}
        self.assertEqual(ports, {"grpc": 443}, "no unauthenticated /metrics on a LoadBalancer")

    def test_servicemonitor_scrapes_each_pod_once(self):
        sm = find(self.all, "ServiceMonitor")
        selector = sm["spec"]["selector"]["matchLabels"]
        services = [s for s in self.all if s["kind"] == "Service"
                    and selector.items() <= s["metadata"]["labels"].items()]
        self.assertEqual([s["metadata"]["name"] for s in services], ["hotpath-headless"])
        (endpoint,) = sm["spec"]["endpoints"]
        self.assertEqual((endpoint["port"], endpoint["path"]), ("metrics", "/metrics"))
        self.assertIn("metrics", [p["name"] for p in services[0]["spec"]["ports"]])
        self.assertEqual(sm["metadata"]["labels"]["release"], "kube-prometheus-stack")

    def test_prometheusrule_holds_the_alerts_file(self):
        rule = find(self.all, "PrometheusRule")
        alerts = os.path.join(REPO, OBSERVABILITY_COPIES["files/hotpath-alerts.yaml"])
        self.assertEqual(rule["spec"], load_yaml(alerts))

    def test_dashboard_configmap(self):
        cm = find(self.all, "ConfigMap", "hotpath-dashboard")
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        self.assertEqual(cm["metadata"]["namespace"], "monitoring")
        self.assertEqual(cm["metadata"]["annotations"], {"grafana_folder": "hotpath"})
        dashboard = os.path.join(REPO, OBSERVABILITY_COPIES["files/hotpath.json"])
        with open(dashboard, encoding="utf-8") as f:
            self.assertEqual(cm["data"]["hotpath.json"], f.read())
        json.loads(cm["data"]["hotpath.json"])

    def test_pdb(self):
        pdb = find(self.all, "PodDisruptionBudget")
        self.assertEqual(pdb["apiVersion"], "policy/v1")
        self.assertEqual(pdb["spec"]["maxUnavailable"], 1)
        self.assertNotIn("minAvailable", pdb["spec"])
        _, docs = render_docs({"pdb": {"enabled": True, "minAvailable": "50%"}})
        self.assertEqual(find(docs, "PodDisruptionBudget")["spec"], {
            "minAvailable": "50%", "selector": find(docs, "StatefulSet")["spec"]["selector"]})

    def test_configmap_files(self):
        cfg = hotpath_config(self.default)
        self.assertEqual(cfg["server"]["allow_plaintext"], True)
        self.assertNotIn("tls", cfg)
        self.assertNotIn("auth", cfg)
        self.assertNotIn("ratelimit", cfg)
        cfg = hotpath_config(self.all)
        self.assertNotIn("allow_plaintext", cfg["server"])
        self.assertEqual(cfg["tls"], {"cert_file": "/etc/hotpath/tls/tls.crt",
                                      "key_file": "/etc/hotpath/tls/tls.key",
                                      "client_ca_file": "/etc/hotpath/tls/ca.crt",
                                      "reload_interval": "30s"})
        self.assertEqual(cfg["auth"]["access_file"], "/etc/hotpath/auth/access.yaml")
        self.assertEqual(cfg["ratelimit"]["policy_file"], "/etc/hotpath/policies.yaml")
        self.assertEqual(cfg["ratelimit"]["envoy_config"], "/etc/hotpath/envoy")
        for section, options in everything_on()["config"].items():
            for key, value in options.items():
                self.assertEqual(cfg[section][key], value, "%s.%s" % (section, key))
        data = find(self.all, "ConfigMap", "hotpath")["data"]
        self.assertEqual(yaml.safe_load(data["policies.yaml"]),
                         {"policies": everything_on()["rateLimit"]["policies"]})
        for name, doc in everything_on()["rateLimit"]["envoyConfigs"].items():
            self.assertEqual(yaml.safe_load(data["envoy-%s.yaml" % name]), doc)
        secret = find(self.all, "Secret", "hotpath-auth")
        self.assertEqual(yaml.safe_load(secret["stringData"]["access.yaml"]),
                         everything_on()["auth"]["accessFile"])

    def test_auth_existing_secret(self):
        _, docs = render_docs({"auth": {"enabled": True, "existingSecret": "keys",
                                        "existingSecretKey": "k.yaml"}})
        self.assertNotIn("Secret", [d["kind"] for d in docs])
        sources = {s["secret"]["name"]: s["secret"]["items"]
                   for s in pod_spec(docs)["volumes"][0]["projected"]["sources"] if "secret" in s}
        self.assertEqual(sources, {"keys": [{"key": "k.yaml", "path": "auth/access.yaml"}]})

    def test_immutable_fields_do_not_depend_on_versions(self):
        """An upgrade may not change a StatefulSet's selector, serviceName, podManagementPolicy
        or volumeClaimTemplates: a new chart or app version must leave them alone."""
        def immutable(docs):
            spec = find(docs, "StatefulSet")["spec"]
            return {k: spec[k] for k in ("selector", "serviceName", "podManagementPolicy",
                                         "volumeClaimTemplates")}
        _, newer = render_docs(everything_on(), {"image": {"tag": "9.9.9"}},
                               chart={"Version": "9.9.9", "AppVersion": "9.9.9"})
        self.assertEqual(immutable(newer), immutable(self.all))

    def test_names_fit_kubernetes_limits(self):
        """Helm allows release names of up to 53 characters."""
        for release in ["hotpath", "prod", "my-hotpath", "r" * 53]:
            with self.subTest(release=release):
                _, docs = render_docs(everything_on(), release=release)
                names = [d["metadata"]["name"] for d in docs]
                self.assertEqual(len(names), len(set((d["kind"], n) for d, n in zip(docs, names))))
                for name in names:
                    self.assertRegex(name, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
                    self.assertLessEqual(len(name), 63, name)
                sts = find(docs, "StatefulSet")
                self.assertLessEqual(len(sts["metadata"]["name"]), 52)
                self.assertNotEqual(sts["spec"]["serviceName"], sts["metadata"]["name"])
        _, docs = render_docs(release="prod")
        self.assertEqual(find(docs, "StatefulSet")["metadata"]["name"], "prod-hotpath")
        _, docs = render_docs(release="my-hotpath")
        self.assertEqual(find(docs, "StatefulSet")["metadata"]["name"], "my-hotpath")

    def test_memory_cap_below_the_memory_limit(self):
        values = load_yaml(os.path.join(CHART, "values.yaml"))
        self.assertLess(values["config"]["engine"]["max_memory"],
                        quantity_bytes(values["resources"]["limits"]["memory"]))

    def test_notes_render(self):
        notes = self.default_files["hotpath/templates/NOTES.txt"]
        self.assertIn("hotpath.default.svc:7070", notes)
        self.assertIn("allow_plaintext", notes)
        notes = self.all_files["hotpath/templates/NOTES.txt"]
        self.assertIn("independent", notes)
        self.assertNotIn("WARNING", notes)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + UNITTEST_ARGS, verbosity=2)
