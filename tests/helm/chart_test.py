#!/usr/bin/python3
"""Static tests of the Helm chart helm/hotpath, without Helm (it cannot be installed here).

Usage: /usr/bin/python3 tests/helm/chart_test.py --hotpathd PATH [--chart helm/hotpath]
                                                 [unittest args]

- the chart's YAML and JSON parse; the copies of the observability files are byte-identical;
- values.yaml meets values.schema.json, which rejects typos and wrong values, and whose config
  section lists exactly the options hotpathd knows (from `hotpathd --check-config`);
- every .Values path a template uses exists in values.yaml, every value is used, commented,
  and in README.md's table;
- the chart rendered by render.py (a small Go-template renderer that fails on anything it does
  not implement) with default values and with everything-on.values.yaml has the structure the
  deployment needs (StatefulSet, probes, security, grace > drain, checksum, Services, ...);
- the rendered hotpath.yaml, with the pod's volumes laid out in a temp dir from the rendered
  manifests, passes `hotpathd --check-config`, and hotpathd starts and serves with it.
A missing or broken --hotpathd fails the tests that need it; nothing is skipped.
"""
import argparse
import copy
import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import render  # noqa: E402

_parser = argparse.ArgumentParser(add_help=False)
_parser.add_argument("--hotpathd", default=None, help="hotpathd binary to check configs with")
_parser.add_argument("--chart", default=os.path.join(REPO, "helm", "hotpath"))
ARGS, UNITTEST_ARGS = _parser.parse_known_args()
CHART = os.path.abspath(ARGS.chart)

# Options the chart sets itself (keep in sync with "hotpath.config" in _helpers.tpl).
CHART_OWNED = {
    "server.grpc_address", "server.metrics_address", "server.allow_plaintext", "tls.cert_file",
    "tls.key_file", "tls.client_ca_file", "auth.access_file", "persistence.data_dir",
    "ratelimit.policy_file", "ratelimit.envoy_config",
}
# Schema objects passed to Kubernetes as they are (everything else is closed).
PASSTHROUGH = {
    "affinity.nodeAffinity", "affinity.podAffinity", "affinity.podAntiAffinity",
    "topologySpreadConstraints[].labelSelector", "podSecurityContext.seLinuxOptions",
    "securityContext.seLinuxOptions",
}
OBSERVABILITY_COPIES = {
    "files/hotpath.json": "observability/grafana/hotpath.json",
    "files/hotpath-alerts.yaml": "observability/prometheus/hotpath-alerts.yaml",
}
GRACE_MARGIN_S = 5  # seconds after the drain for the log flush and exit


def go_duration_seconds(text):
    """Go/absl duration ("1m30s", "250ms", "1.5h") -> seconds."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("not a duration: %r" % text)
    return sum(float(n) * units[u] for n, u in parts)


def quantity_bytes(q):
    m = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(q))
    return int(m.group(1)) * {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
                              "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[m.group(2)]


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def everything_on():
    return load_yaml(os.path.join(HERE, "everything-on.values.yaml"))


def merged(*overrides):
    out = {}
    for o in overrides:
        out = render.coalesce(out, o) if out else copy.deepcopy(o)
    return out


def render_docs(*overrides, **kw):
    rendered = render.render_chart(CHART, overrides, **kw)
    return rendered, render.manifests(rendered)


def find(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    if len(found) != 1:
        raise AssertionError("expected one %s %s, found %d" % (kind, name or "", len(found)))
    return found[0]


def pod_spec(docs):
    return find(docs, "StatefulSet")["spec"]["template"]["spec"]


def container(docs):
    (c,) = pod_spec(docs)["containers"]
    return c


def hotpath_config(docs):
    return yaml.safe_load(find(docs, "ConfigMap", "hotpath")["data"]["hotpath.yaml"])


def leaf_paths(d, prefix=""):
    """values.yaml leaves: scalars, lists and empty maps, as dotted paths."""
    for k, v in d.items():
        path = prefix + k
        if isinstance(v, dict) and v:
            yield from leaf_paths(v, path + ".")
        else:
            yield path


def templates_text():
    tdir = os.path.join(CHART, "templates")
    out = {}
    for fn in sorted(os.listdir(tdir)):
        with open(os.path.join(tdir, fn), encoding="utf-8") as f:
            out[fn] = f.read()
    return out


def values_paths_in_templates():
    paths = set()
    for fn, text in templates_text().items():
        for m in re.finditer(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
            paths.add((fn, m.group(1)[1:]))
    return paths


# --------------------------------------------------------------------------- files
class ChartFilesTest(unittest.TestCase):
    def test_yaml_and_json_files_parse(self):
        for rel in ["Chart.yaml", "values.yaml", "files/hotpath-alerts.yaml"]:
            with self.subTest(file=rel):
                self.assertIsInstance(load_yaml(os.path.join(CHART, rel)), dict)
        for rel in ["values.schema.json", "files/hotpath.json"]:
            with self.subTest(file=rel), open(os.path.join(CHART, rel), encoding="utf-8") as f:
                self.assertIsInstance(json.load(f), dict)
        self.assertIsInstance(everything_on(), dict)

    def test_chart_metadata(self):
        meta = load_yaml(os.path.join(CHART, "Chart.yaml"))
        self.assertEqual(meta["apiVersion"], "v2")
        self.assertEqual(meta["name"], "hotpath")
        self.assertEqual(meta["version"], "0.1.0")
        self.assertEqual(meta["appVersion"], "0.1.0")

    def test_observability_copies_are_identical(self):
        for copy_rel, source_rel in OBSERVABILITY_COPIES.items():
            with self.subTest(copy=copy_rel):
                with open(os.path.join(CHART, copy_rel), "rb") as a, \
                        open(os.path.join(REPO, source_rel), "rb") as b:
                    same = a.read() == b.read()
                    fix = "cp %s helm/hotpath/%s" % (source_rel, copy_rel)
                    self.assertTrue(same, "helm/hotpath/%s differs from %s: run %s"
                                    % (copy_rel, source_rel, fix))

    def test_alerts_file_has_the_rules_shape(self):
        alerts = load_yaml(os.path.join(CHART, "files/hotpath-alerts.yaml"))
        self.assertEqual(list(alerts), ["groups"])
        for group in alerts["groups"]:
            self.assertTrue(group["name"] and group["rules"], group)

    def test_every_value_is_commented(self):
        with open(os.path.join(CHART, "values.yaml"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        previous = ""
        for n, line in enumerate(lines, 1):
            m = re.match(r"^(\s*)([A-Za-z_][\w-]*):", line)
            if m:
                self.assertTrue(previous.lstrip().startswith("#") or " # " in line,
                                "values.yaml:%d: %s has no comment above it" % (n, m.group(2)))
            if line.strip():
                previous = line

    def test_readme_documents_every_value(self):
        with open(os.path.join(CHART, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        values = load_yaml(os.path.join(CHART, "values.yaml"))
        missing = [p for p in leaf_paths(values) if "| `%s` |" % p not in readme]
        self.assertEqual(missing, [], "values missing from README.md's table")


# --------------------------------------------------------------------------- schema
class SchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(CHART, "values.schema.json"), encoding="utf-8") as f:
            cls.schema = json.load(f)
        cls.values = load_yaml(os.path.join(CHART, "values.yaml"))

    def errors(self, *overrides):
        return render.schema_errors(CHART, merged(self.values, *overrides))

    def test_schema_is_valid_draft7(self):
        self.assertEqual(self.schema["$schema"], "http://json-schema.org/draft-07/schema#")
        jsonschema.Draft7Validator.check_schema(self.schema)

    def test_default_and_everything_on_values_are_valid(self):
        self.assertEqual(self.errors(), [])
        self.assertEqual(self.errors(everything_on()), [])

    def test_wrong_values_are_rejected(self):
        cases = [
            ({"replicaCont": 2}, "replicaCont"),
            ({"replicaCount": -1}, "replicaCount"),
            ({"replicaCount": "2"}, "replicaCount"),
            ({"config": {"persistence": {"fsync": "sometimes"}}}, "fsync"),
            ({"config": {"server": {"grpc_adress": "0.0.0.0:1"}}}, "grpc_adress"),
            ({"config": {"server": {"grpc_address": "0.0.0.0:1"}}}, "grpc_address"),  # chart-owned
            ({"config": {"persistence": {"data_dir": "/x"}}}, "data_dir"),  # chart-owned
            ({"config": {"sesion": {}}}, "sesion"),
            ({"config": {"engine": {"shards": 3}}}, "shards"),
            ({"config": {"engine": {"max_memory": -1}}}, "max_memory"),
            ({"config": {"server": {"drain_timeout": "1m"}}}, "drain_timeout"),
            ({"config": {"session": {"default_lifetime": "a day"}}}, "default_lifetime"),
            ({"config": {"log": {"level": "verbose"}}}, "level"),
            ({"tls": {"enabled": True, "existingSecret": "s"}}, "probes"),
            ({"tls": {"enabled": True}, "probes": {"type": "grpcTLS"}}, "existingSecret"),
            ({"tls": {"enabled": True, "existingSecret": "s", "clientAuth": True},
              "probes": {"type": "grpcTLS"}}, "probes"),
            ({"tls": {"clientAuth": True}, "probes": {"type": "exec", "execCommand": ["x"]}},
             "enabled"),
            ({"auth": {"enabled": True}}, "auth"),
            ({"auth": {"existingSecret": "a", "accessFile": {"keys": []}}}, "accessFile"),
            ({"auth": {"accessFile": {"keys": [{"id": "k", "sha256": "nothex", "scopes": ["*"],
                                                "namespaces": ["*"]}]}}}, "sha256"),
            ({"auth": {"enabled": True, "existingSecret": "a"},
              "config": {"auth": {"exempt_health": False}}}, "probes"),
            ({"probes": {"type": "exec"}}, "execCommand"),
            ({"probes": {"type": "http"}}, "type"),
            ({"probes": {"liveness": {"periodSecond": 3}}}, "periodSecond"),
            ({"rateLimit": {"policies": [{"name": "p",
                                          "limits": [{"limit": 1, "period": "1 s"}]}]}}, "period"),
            ({"rateLimit": {"policies": [{"name": "p", "limits": [{"limit": 1, "period": "1s",
                                                                  "algo": "gcra"}]}]}}, "algo"),
            ({"rateLimit": {"envoyConfigs": {"a/b": {"domain": "d"}}}}, "a/b"),
            ({"rateLimit": {"envoyConfigs": {"e": {"domain": "d", "descriptors": [
                {"key": "k", "descriptors": [{"key": "x", "ratelimit": {}}]}]}}}}, "ratelimit"),
            ({"persistence": {"size": "ten gigs"}}, "size"),
            ({"persistence": {"accessModes": ["ReadWriteMost"]}}, "accessModes"),
            ({"pdb": {"minAvailable": 0}}, "minAvailable"),
            ({"pdb": {"maxUnavailable": "half"}}, "maxUnavailable"),
            ({"securityContext": {"readOnlyRootFileSystem": True}}, "readOnlyRootFileSystem"),
            ({"resources": {"limits": {"memroy": "1Gi"}}}, "memroy"),
            ({"serviceMonitor": {"interval": "often"}}, "interval"),
            ({"terminationGracePeriodSeconds": 0}, "terminationGracePeriodSeconds"),
            ({"service": {"type": "ExternalName"}}, "type"),
        ]
        for override, expected in cases:
            with self.subTest(values=override):
                errors = self.errors(override)
                self.assertTrue(errors, "the schema accepted %r" % (override,))
                self.assertIn(expected, "\n".join(errors))

    def test_every_object_is_closed(self):
        """additionalProperties false (or a typed map) everywhere but PASSTHROUGH."""
        open_objects = []

        def walk(node, path):
            if not isinstance(node, dict):
                return
            if "$ref" in node:
                return
            types = node.get("type")
            if types == "object" or (isinstance(types, list) and "object" in types):
                if node.get("additionalProperties", True) is True and path not in PASSTHROUGH:
                    open_objects.append(path)
            for k, sub in node.get("properties", {}).items():
                walk(sub, (path + "." if path else "") + k)
            for sub in node.get("patternProperties", {}).values():
                walk(sub, path + ".*")
            if isinstance(node.get("additionalProperties"), dict):
                walk(node["additionalProperties"], path + ".*")
            if isinstance(node.get("items"), dict):
                walk(node["items"], path + "[]")
            for k in ("oneOf", "anyOf"):
                for sub in node.get(k, []):
                    walk(sub, path)

        walk(self.schema, "")
        for name, sub in self.schema["definitions"].items():
            walk(sub, "#" + name)
        self.assertEqual(open_objects, [], "schema objects accepting unknown keys")

    def test_config_section_matches_hotpathd_options(self):
        options = set(check_config_output(["--check-config"]))
        self.assertTrue(CHART_OWNED <= options, CHART_OWNED - options)
        in_schema = {"%s.%s" % (section, key)
                     for section, sub in self.schema["properties"]["config"]["properties"].items()
                     for key in sub["properties"]}
        self.assertEqual(in_schema - options, set(), "config options hotpathd does not know")
        self.assertEqual(options - CHART_OWNED - in_schema, set(),
                         "hotpathd options missing from the schema's config section")
        self.assertEqual(set(self.values["config"]),
                         set(self.schema["properties"]["config"]["properties"]),
                         "values.yaml should show every config section")


# --------------------------------------------------------------------------- templates
class TemplatePathsTest(unittest.TestCase):
    def test_every_values_path_in_templates_exists(self):
        values = load_yaml(os.path.join(CHART, "values.yaml"))
        missing = []
        for fn, path in sorted(values_paths_in_templates()):
            node = values
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    missing.append("%s: .Values.%s" % (fn, path))
                    break
                node = node[part]
        self.assertEqual(missing, [], "paths the templates use that values.yaml lacks")

    def test_every_value_is_used(self):
        values = load_yaml(os.path.join(CHART, "values.yaml"))
        used = {path for _, path in values_paths_in_templates()}
        unused = [leaf for leaf in leaf_paths(values)
                  if not any(leaf == u or leaf.startswith(u + ".") for u in used)]
        self.assertEqual(unused, [], "values.yaml entries no template reads")


class RendererTest(unittest.TestCase):
    """render.py must fail on what it does not implement rather than render it differently."""

    def run_template(self, src, values=None):
        return render.Renderer({"t": src}).render("t", {"Values": render.go_values(values or {})})

    def test_subset_renders_like_go_templates(self):
        src = ('{{- define "x" -}}[{{ . }}]{{- end -}}\n'
               'a {{- " b" }} {{ include "x" "c" | quote }}\n'
               '{{- range $k, $v := .Values.m }} {{ $k }}={{ $v }}{{ end }}\n'
               '{{ if .Values.no }}no{{ else if .Values.m }}yes{{ end }}'
               '{{ with .Values.missing }}x{{ else }} none{{ end }}\n'
               '{{ toYaml .Values.m | nindent 2 }}')
        self.assertEqual(self.run_template(src, {"m": {"b": 2, "a": "x"}, "no": False}),
                         'a b "[c]" a=x b=2\nyes none\n\n  a: x\n  b: 2')

    def test_numbers_print_as_helm_prints_them(self):
        self.assertEqual(self.run_template("{{ .Values.a }} {{ .Values.b }} {{ .Values.c }}",
                                           {"a": 30, "b": 1000000, "c": 1073741824}),
                         "30 1e+06 1.073741824e+09")

    def test_unimplemented_constructs_fail(self):
        for src in ['{{ tpl "x" . }}', '{{ template "x" . }}', '{{ block "x" . }}{{ end }}',
                    "{{ .Values.missing }}", "{{ .Values.list }}", "{{ .Values.missing.x }}",
                    "{{ eq .Values.n 1 }}", '{{ printf "%v" .Values.n }}', "{{ atoi \"x1\" }}",
                    "{{ if .Values.n }}", "{{ end }}", "{{ (include \"x\" .).Field }}",
                    '{{ with .Values.n }}{{ else with .Values.n }}{{ end }}']:
            with self.subTest(src=src), self.assertRaises(render.TemplateError):
                self.run_template(src, {"n": 1, "list": [1]})


# --------------------------------------------------------------------------- rendering
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


# --------------------------------------------------------------------------- hotpathd
def hotpathd_binary():
    if not ARGS.hotpathd:
        raise AssertionError("pass --hotpathd PATH: hotpathd must check the rendered config")
    if not (os.path.isfile(ARGS.hotpathd) and os.access(ARGS.hotpathd, os.X_OK)):
        raise AssertionError("--hotpathd %s: no such executable" % ARGS.hotpathd)
    return os.path.abspath(ARGS.hotpathd)


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("HOTPATH_")}


def check_config_output(args, expect_ok=True):
    """Runs hotpathd with args; returns {section.option: value} of --check-config's output."""
    run = subprocess.run([hotpathd_binary()] + args, capture_output=True, text=True, timeout=60,
                         env=clean_env())
    if expect_ok is not None:
        if (run.returncode == 0) != bool(expect_ok):
            raise AssertionError("hotpathd %s: exit %d\n%s%s"
                                 % (" ".join(args), run.returncode, run.stdout, run.stderr))
    options, section = {}, None
    for line in run.stdout.splitlines():  # line by line: sections may repeat in this output
        m = re.match(r"^([a-z_]+):$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r'^  ([a-z_]+): "?(.*?)"?$', line)
        if m and section:
            options["%s.%s" % (section, m.group(1))] = m.group(2)
    return options if expect_ok is not None else run


def make_tls(tmp):
    """A throwaway CA and a server certificate it signed (also used as the client's)."""
    def openssl(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)
    ca_key, ca_crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.crt")
    key, csr, crt = (os.path.join(tmp, n) for n in ("tls.key", "tls.csr", "tls.crt"))
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:hotpath,DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", ca_key, "-out", ca_crt, "-days", "2", "-subj", "/CN=hotpath test CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=hotpath")
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
    out = {}
    for name, path in (("tls.crt", crt), ("tls.key", key), ("ca.crt", ca_crt)):
        with open(path, encoding="ascii") as f:
            out[name] = f.read()
    return out


def minimal_access_file():
    key = secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    return yaml.safe_dump({"keys": [{"id": "test", "sha256": digest, "scopes": ["*"],
                                     "namespaces": ["*"]}]})


class PodFiles:
    """The container's volumes from the rendered manifests, laid out under a temp dir."""

    def __init__(self, docs, root, secret_data):
        sts = find(docs, "StatefulSet")
        pod, c = sts["spec"]["template"]["spec"], container(docs)
        volumes = {v["name"]: v for v in pod["volumes"]}
        claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
        configmaps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
        secret_data = dict(secret_data, **{d["metadata"]["name"]: d["stringData"]
                                           for d in docs if d["kind"] == "Secret"})
        self.mounts, self.writable = {}, set()
        for m in c["volumeMounts"]:
            host = os.path.join(root, m["mountPath"].strip("/").replace("/", "_"))
            os.makedirs(host)
            self.mounts[m["mountPath"]] = host
            if m["name"] in claims:
                os.mkdir(os.path.join(host, "lost+found"))  # as on a fresh ext4 volume
                self.writable.add(m["mountPath"])
                continue
            v = volumes[m["name"]]
            if "emptyDir" in v:
                self.writable.add(m["mountPath"])
                continue
            sources = v["projected"]["sources"] if "projected" in v else [v]
            for s in sources:
                if "configMap" in s:
                    data = configmaps[s["configMap"]["name"]]
                    items = s["configMap"].get("items")
                else:
                    ref = s["secret"]
                    data = secret_data[ref.get("name") or ref["secretName"]]
                    items = ref.get("items")
                for item in items or [{"key": k, "path": k} for k in data]:
                    if item["key"] not in data:
                        raise AssertionError("volume %s: key %s missing" % (m["name"], item["key"]))
                    path = os.path.join(host, item["path"])
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(data[item["key"]])

    def host(self, path, writable=False):
        """Where a path inside the container is here; it must be on a volume."""
        for mount in sorted(self.mounts, key=len, reverse=True):
            if path == mount or path.startswith(mount + "/"):
                if writable and mount not in self.writable:
                    raise AssertionError("%s is on read-only volume %s" % (path, mount))
                return self.mounts[mount] + path[len(mount):]
        raise AssertionError("%s is on no volume (the root filesystem is read-only)" % path)


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
                config["server"]["grpc_address"] = "127.0.0.1:0"
                config["server"]["metrics_address"] = "127.0.0.1:0"
                with open(path, "w") as f:
                    yaml.safe_dump(config, f)
                log = open(path + ".log", "w+")
                proc = subprocess.Popen([binary, "--config", path], stdout=log,
                                        stderr=subprocess.STDOUT, env=clean_env(),
                                        cwd=os.path.dirname(path))
                try:
                    deadline, serving = time.time() + 60, None
                    while time.time() < deadline and proc.poll() is None and not serving:
                        time.sleep(0.1)
                        log.seek(0)
                        # logfmt or JSON (log.format)
                        serving = re.search(r'"?event"?[=:]"?serving\b.*?"?metrics"?[=:]"?'
                                            r'(http[^"\s]+)', log.read())
                    log.seek(0)
                    self.assertTrue(serving, "hotpathd did not serve:\n" + log.read())
                    with urllib.request.urlopen(serving.group(1), timeout=10) as r:
                        self.assertIn("hotpath_", r.read().decode())
                    proc.send_signal(signal.SIGTERM)
                    drain = go_duration_seconds(config["server"].get("drain_timeout", "10s"))
                    self.assertEqual(proc.wait(timeout=drain + 30), 0)
                    data_dir = config["persistence"]["data_dir"]
                    self.assertTrue(os.path.exists(os.path.join(data_dir, "MANIFEST")),
                                    os.listdir(data_dir))
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                    log.close()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + UNITTEST_ARGS, verbosity=2)
