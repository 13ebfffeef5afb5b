"""What the chart tests share: their arguments, the chart's paths, rendering helpers, and
the pod's files laid out for a real hotpathd. The tests: chart_test.py (files, schema,
template paths, the renderer), chart_render_test.py (the rendered manifests),
chart_hotpathd_test.py (the rendered configuration run by hotpathd)."""
import argparse
import copy
import hashlib
import os
import re
import secrets
import subprocess
import sys

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
    """Runs hotpathd with args. With expect_ok (the default), fails unless it exits 0 and returns
    {section.option: value} of --check-config's YAML; with expect_ok=None, returns the run."""
    run = subprocess.run([hotpathd_binary()] + args, capture_output=True, text=True, timeout=60,
                         env=clean_env())
    if expect_ok is None:
        return run
    if run.returncode != 0:
        raise AssertionError("hotpathd %s: exit %d\n%s%s"
                             % (" ".join(args), run.returncode, run.stdout, run.stderr))
    return {"%s.%s" % (section, key): value
            for section, values in yaml.safe_load(run.stdout).items()
            for key, value in values.items()}


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
