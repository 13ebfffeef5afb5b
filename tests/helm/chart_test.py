#!/usr/bin/python3
"""The Helm chart helm/hotpath without Helm (it cannot be installed here): its files.

Usage: /usr/bin/python3 tests/helm/chart_test.py --hotpathd PATH [--chart helm/hotpath] [unittest args]

- the chart's YAML and JSON parse; the copies of the observability files are byte-identical;
- values.yaml meets values.schema.json, which rejects typos and wrong values, and whose config
  section lists exactly the options hotpathd knows (from `hotpathd --check-config`);
- every .Values path a template uses exists in values.yaml, every value is used, commented,
  and in README.md's table;
- render.py (a small Go-template renderer that fails on anything it does not implement)
  renders its subset as Helm would.
A missing or broken --hotpathd fails the tests that need it; nothing is skipped.
"""
import json
import os
import re
import sys
import unittest

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render  # noqa: E402
from chart_support import (  # noqa: E402
    CHART,
    CHART_OWNED,
    OBSERVABILITY_COPIES,
    PASSTHROUGH,
    REPO,
    UNITTEST_ARGS,
    check_config_output,
    everything_on,
    leaf_paths,
    load_yaml,
    merged,
    values_paths_in_templates,
)


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


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + UNITTEST_ARGS, verbosity=2)
