#!/usr/bin/python3
"""A small renderer for the subset of Helm / Go text/template that helm/hotpath uses.

Helm cannot be installed where the tests run, so tests/helm/chart_test.py renders the chart
with this. It implements what helm/hotpath/templates use and raises TemplateError on anything
else (an unknown function, `template`, `block`, `else with`, printing nil, a list or a float):
it must never silently render what Helm would render differently. Keep the chart inside it.

Helm semantics kept: values numbers are float64 (printed like Go's %v, so 1000000 becomes
1e+06, and comparing one with a template's integer is an error, as in Go); ranges over maps go
in key order; a missing map key is nil and a field of nil is an error; toYaml sorts keys and
drops the last newline; values are merged (null deletes) and checked against
values.schema.json before rendering.

Usage: render.py CHART [-f VALUES.yaml ...]   prints the manifests like `helm template`.
"""
import decimal
import hashlib
import json
import os
import re

import yaml


class TemplateError(Exception):
    pass


class GoFloat(float):
    """A number from values.yaml: Helm decodes every values number as float64."""


def go_format(v):
    """What an action prints for v (Go's %v)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, GoFloat) and v == v and abs(v) != float("inf"):
        d = decimal.Decimal(repr(abs(float(v)))).normalize()
        _, digits, exp10 = d.as_tuple()
        exp = len(digits) - 1 + exp10
        if v == 0 or -4 <= exp < 6:  # strconv's shortest 'g': %e outside [-4, 6)
            text = format(d, "f")
        else:
            ds = "".join(map(str, digits))
            text = "%s%se%s%02d" % (ds[0], "." + ds[1:] if ds[1:] else "", "-+"[exp >= 0], abs(exp))
        return ("-" if v < 0 else "") + text
    if isinstance(v, int) and not isinstance(v, GoFloat):
        return str(v)
    raise TemplateError("not implemented: printing %r (Helm would print %s)" % (
        v, "<no value> or nothing" if v is None else "Go's %v of it"))


def truthy(v):
    if v is None or isinstance(v, (bool, str, list, dict, int, float)):
        return bool(v)
    raise TemplateError("not implemented: truth of %r" % (v,))


def go_values(v):
    if isinstance(v, dict):
        return {k: go_values(x) for k, x in v.items()}
    if isinstance(v, list):
        return [go_values(x) for x in v]
    return GoFloat(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def _plain(v):
    """Values -> what toYaml's JSON round trip holds."""
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise TemplateError("not implemented: toYaml of non-string keys in %r" % (v,))
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if abs(v) >= 2 ** 53:
            raise TemplateError("not implemented: toYaml of the large number %r" % (v,))
        return int(v) if float(v).is_integer() else float(v)
    if v is None or isinstance(v, (bool, str)):
        return v
    raise TemplateError("not implemented: toYaml of %r" % (v,))


def to_yaml(v):
    if not isinstance(v, (dict, list)):
        raise TemplateError("not implemented: toYaml of the scalar %r" % (v,))
    text = yaml.safe_dump(_plain(v), default_flow_style=False, sort_keys=True,
                          allow_unicode=True, width=1 << 30)
    return text[:-1] if text.endswith("\n") else text


def go_quote(s):
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", s):
        raise TemplateError("not implemented: quote of control characters in %r" % s)
    for ch, esc in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t")):
        s = s.replace(ch, esc)
    return '"' + s + '"'


def _kind(v):
    for kind, types in (("bool", bool), ("float", float), ("int", int), ("string", str)):
        if isinstance(v, types):
            return kind
    raise TemplateError("not implemented: comparing %r" % (v,))


def _compare(op, a, b):
    if _kind(a) != _kind(b):
        raise TemplateError("error calling %s: incompatible types for comparison (%s, %s)"
                            % (op, _kind(a), _kind(b)))
    if op == "lt" and _kind(a) == "bool":
        raise TemplateError("error calling lt: invalid type for comparison")
    return a == b if op == "eq" else a < b


def _int(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v):
        return int(v)
    raise TemplateError("not implemented: int/atoi of %r (sprig would silently give 0)" % (v,))


def _printf(fmt, *args):
    specs = re.findall(r"%.", fmt)
    ok = [(f == "%s" and isinstance(a, str)) or (f == "%d" and _kind(a) == "int")
          for f, a in zip(specs, args)]
    if len(specs) != len(args) or not all(ok):
        raise TemplateError("not implemented: printf %r of %r (only %%s, %%d)" % (fmt, args))
    return fmt % args


def _strings(fn):
    def call(*args):
        if not all(isinstance(a, str) for a in args):
            raise TemplateError("not implemented: %r with non-string arguments" % (args,))
        return fn(*args)
    return call


def _indent(n, s):
    pad = " " * _int(n)
    return pad + _strings(lambda s: s)(s).replace("\n", "\n" + pad)


def _raise(msg):
    raise TemplateError(msg)


FUNCS = {
    "toYaml": to_yaml,
    "indent": _indent,
    "nindent": lambda n, s: "\n" + _indent(n, s),
    "quote": lambda *a: " ".join(go_quote(go_format(x)) for x in a if x is not None),
    "default": lambda d, v=None: v if truthy(v) else d,
    "printf": _printf,
    "print": _strings(lambda *a: "".join(a)),
    "sha256sum": _strings(lambda s: hashlib.sha256(s.encode()).hexdigest()),
    "trunc": lambda n, s: _strings(lambda s: s[:_int(n)] if _int(n) >= 0 else _raise("trunc<0"))(s),
    "trimSuffix": _strings(lambda suf, s: s[:-len(suf)] if suf and s.endswith(suf) else s),
    "contains": _strings(lambda sub, s: sub in s),
    "replace": _strings(lambda old, new, s: s.replace(old, new)),
    "required": lambda msg, v: _raise("required: " + msg) if v is None or v == "" else v,
    "fail": lambda msg: _raise("fail: " + msg),
    "eq": lambda a, b: _compare("eq", a, b),
    "lt": lambda a, b: _compare("lt", a, b),
    "not": lambda v: not truthy(v),
    "atoi": _strings(_int),
    "int": _int,
    "add": lambda *a: sum(_int(x) for x in a),
}

# ------------------------------------------------------------------------------- parsing
TOKEN = re.compile(r"""(?P<ws>\s+) | (?P<str>"(?:[^"\\\n]|\\[nt"\\])*") | (?P<raw>`[^`]*`)
  | (?P<op>:=|[|(),]) | (?P<num>-?[0-9]+(?![\w.])) | (?P<var>\$\w*(?:\.[A-Za-z_]\w*)*)
  | (?P<field>(?:\.[A-Za-z_]\w*)+|\.(?![\w.])) | (?P<ident>[A-Za-z_]\w*)""", re.X)


def tokenize(body, where):
    toks, pos = [], 0
    while pos < len(body):
        m = TOKEN.match(body, pos)
        if not m or (m.lastgroup == "field" and body[pos - 1:pos] == ")"):
            raise TemplateError("%s: not implemented: syntax at %r" % (where, body[pos:pos + 20]))
        pos, kind, text = m.end(), m.lastgroup, m.group(0)
        if kind == "str":
            unescape = lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), e.group(1))  # noqa: E731
            toks.append(("lit", re.sub(r"\\(.)", unescape, text[1:-1])))
        elif kind == "raw":
            toks.append(("lit", text[1:-1]))
        elif kind == "num":
            toks.append(("lit", int(text)))
        elif kind == "ident" and text in ("true", "false"):
            toks.append(("lit", text == "true"))
        elif kind == "op":
            toks.append((text, text))
        elif kind != "ws":
            toks.append((kind, text))
    return toks


def parse_pipe(toks, where, decl_ok=True, two_vars=False):
    """-> (declared variable names, [command = [operand...]])"""
    names, i = [], 0
    if decl_ok:
        while i < len(toks) and toks[i][0] == "var" and "." not in toks[i][1]:
            names.append(toks[i][1])
            i += 1
            if not (two_vars and len(names) == 1 and i < len(toks) and toks[i][0] == ","):
                break
            i += 1
        if names and i < len(toks) and toks[i][0] == ":=":
            i += 1
        else:
            names, i = [], 0
    cmds, cur = [], []
    while i < len(toks):
        kind, val = toks[i]
        if kind == "|":
            cmds.append(cur)
            cur, i = [], i + 1
            continue
        if kind == "(":
            depth, j = 1, i + 1
            while j < len(toks) and depth:
                depth += {"(": 1, ")": -1}.get(toks[j][0], 0)
                j += 1
            if depth:
                raise TemplateError("%s: unclosed (" % where)
            cur.append(("paren", parse_pipe(toks[i + 1:j - 1], where, decl_ok=False)))
            i = j
            continue
        if kind not in ("lit", "var", "field", "ident"):
            raise TemplateError("%s: not implemented: %r here" % (where, val))
        cur.append((kind, val))
        i += 1
    cmds.append(cur)
    if not all(cmds):
        raise TemplateError("%s: empty command" % where)
    return names, cmds


def lex(src, name):
    """-> [("text", s) | ("action", tokens, where)] with {{- -}} trimming applied."""
    out, i, trim_next = [], 0, False
    while True:
        j = src.find("{{", i)
        text = src[i:] if j < 0 else src[i:j]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if j < 0:
            return out + [("text", text)]
        where = "%s:%d" % (name, src.count("\n", 0, j) + 1)
        trim_left = src[j + 2:j + 3] == "-" and src[j + 3:j + 4] in (" ", "\t", "\r", "\n")
        out.append(("text", text.rstrip(" \t\r\n") if trim_left else text))
        k = j + (3 if trim_left else 2)
        m = re.compile(r'(?:[^"`}]|"(?:[^"\\]|\\.)*"|`[^`]*`|\}(?!\}))*').match(src, k)
        if not src.startswith("}}", m.end()):
            raise TemplateError("%s: unclosed action" % where)
        body, i = src[k:m.end()], m.end() + 2
        trim_next = bool(re.search(r"\s-$", body))
        body = (body[:-1] if trim_next else body).strip()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("%s: bad comment" % where)
            continue
        out.append(("action", tokenize(body, where), where))


def parse(src, name):
    """-> (nodes, {defined name: nodes}). Nodes: ("text", s), ("out", pipe, where),
    ("if", [(pipe, nodes)...], else_nodes, where),
    ("with"|"range", pipe, nodes, else_nodes, where)."""
    items, pos, defines = lex(src, name), 0, {}

    def block(top=False):
        nonlocal pos
        nodes = []
        while pos < len(items):
            item = items[pos]
            pos += 1
            if item[0] == "text":
                nodes.append(item)
                continue
            toks, where = item[1], item[2]
            kw = toks[0][1] if toks and toks[0][0] == "ident" else None
            if kw in ("end", "else"):
                if top:
                    raise TemplateError("%s: unexpected %s" % (where, kw))
                return nodes, toks, where
            if kw == "define":
                if not top or len(toks) != 2 or toks[1][0] != "lit":
                    raise TemplateError("%s: define needs a name, at the top level" % where)
                defines[toks[1][1]], end, _ = block()
                if end[0][1] != "end":
                    raise TemplateError("%s: else in define" % where)
            elif kw == "if":
                branches, else_nodes = [(parse_pipe(toks[1:], where, decl_ok=False), None)], None
                while True:
                    body, end, ewhere = block()
                    branches[-1] = (branches[-1][0], body)
                    if end[0][1] == "end":
                        break
                    if len(end) > 2 and end[1] == ("ident", "if"):
                        branches.append((parse_pipe(end[2:], ewhere, decl_ok=False), None))
                        continue
                    else_nodes = else_block(end, ewhere)
                    break
                nodes.append(("if", branches, else_nodes, where))
            elif kw in ("with", "range"):
                pipe = parse_pipe(toks[1:], where, two_vars=(kw == "range"))
                body, end, ewhere = block()
                else_nodes = else_block(end, ewhere) if end[0][1] == "else" else None
                nodes.append((kw, pipe, body, else_nodes, where))
            elif kw in ("template", "block", "break", "continue", "else", "tpl"):
                raise TemplateError("%s: not implemented: %s" % (where, kw))
            else:
                nodes.append(("out", parse_pipe(toks, where), where))
        if not top:
            raise TemplateError("%s: missing {{end}}" % name)
        return nodes, None, None

    def else_block(end, where):
        if len(end) != 1:
            raise TemplateError("%s: not implemented: else %s" % (where, end[1][1]))
        body, end2, where2 = block()
        if end2[0][1] != "end":
            raise TemplateError("%s: a second else" % where2)
        return body

    return block(top=True)[0], defines


# ------------------------------------------------------------------------------- executing
def chart_files(chart_dir):
    """.Files: only Get, which (unlike Helm's) fails on a missing file instead of giving ""."""
    def get(path):
        full = os.path.join(chart_dir, path)
        if path.startswith("templates/") or ".." in path.split("/") or not os.path.isfile(full):
            raise TemplateError(".Files.Get %r: no such chart file" % path)
        with open(full, encoding="utf-8") as f:
            return f.read()
    return {"Get": get}


class Renderer:
    def __init__(self, sources):
        """sources: {template name: text}; defines of every source are global, as in Helm."""
        self.templates = {}
        for name, src in sources.items():
            body, defines = parse(src, name)
            for d in list(defines) + [name]:
                if d in self.templates:
                    raise TemplateError("template %r defined twice" % d)
            self.templates.update(defines, **{name: body})

    def render(self, name, dot):
        out = []
        self.run(self.templates[name], dot, [{"$": dot}], out)
        return "".join(out)

    def run(self, nodes, dot, scopes, out):
        for node in nodes:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "out":
                v = self.pipe(node[1], dot, scopes, node[2])
                if not node[1][0]:
                    out.append(go_format(v))
            elif node[0] == "if":
                for pipe, body in node[1]:
                    if truthy(self.pipe(pipe, dot, scopes, node[3])):
                        self.run(body, dot, scopes + [{}], out)
                        break
                else:
                    self.run(node[2] or [], dot, scopes + [{}], out)
            elif node[0] == "with":
                inner = scopes + [{}]
                v = self.pipe(node[1], dot, inner, node[4])
                if truthy(v):
                    self.run(node[2], v, inner, out)
                else:
                    self.run(node[3] or [], dot, scopes + [{}], out)
            else:  # range
                names, where = node[1][0], node[4]
                v = self.pipe(([], node[1][1]), dot, scopes, where)
                if isinstance(v, dict):
                    items = sorted(v.items())
                elif isinstance(v, list):
                    items = list(enumerate(v))
                elif v is None:
                    items = []
                else:
                    raise TemplateError("%s: not implemented: range over %r" % (where, v))
                for k, x in items:
                    scope = dict(zip(names, [x] if len(names) == 1 else [k, x]))
                    self.run(node[2], x, scopes + [scope], out)
                if not items:
                    self.run(node[3] or [], dot, scopes + [{}], out)

    def pipe(self, pipe, dot, scopes, where):
        names, cmds = pipe
        v = _NONE
        for cmd in cmds:
            v = self.command(cmd, dot, scopes, where, v)
        if names:
            scopes[-1][names[0]] = v
        return v

    def operand(self, op, dot, scopes, where):
        kind, val = op
        if kind == "lit":
            return val
        if kind == "paren":
            return self.pipe(val, dot, scopes, where)
        if kind == "ident":
            raise TemplateError("%s: not implemented: %s as a value" % (where, val))
        parts = val.split(".")
        if kind == "var":
            v = next((s[parts[0]] for s in reversed(scopes) if parts[0] in s), _NONE)
            if v is _NONE:
                raise TemplateError("%s: undefined variable %s" % (where, parts[0]))
        else:
            v = dot
        for part in parts[1:]:
            if not part:
                continue
            if isinstance(v, dict):
                v = v.get(part)
            else:
                what = "nil pointer" if v is None else "not implemented"
                raise TemplateError("%s: %s evaluating .%s of %s"
                                    % (where, what, part, type(v).__name__))
        return v

    def command(self, cmd, dot, scopes, where, piped):
        head, ops = cmd[0], cmd[1:]
        if head[0] == "ident" and head[1] in ("and", "or"):  # short-circuit, as Go 1.18+
            thunks = [lambda op=op: self.operand(op, dot, scopes, where) for op in ops]
            for get in thunks + ([lambda: piped] if piped is not _NONE else []):
                v = get()
                if truthy(v) != (head[1] == "and"):
                    break
            return v
        args = [self.operand(op, dot, scopes, where) for op in ops]
        args += [] if piped is _NONE else [piped]
        if head[0] == "ident":
            if head[1] == "include":
                if len(args) != 2 or args[0] not in self.templates:
                    raise TemplateError("%s: include of an unknown template %r" % (where, args[:1]))
                out = []
                self.run(self.templates[args[0]], args[1], [{"$": args[1]}], out)
                return "".join(out)
            if head[1] not in FUNCS:
                raise TemplateError("%s: not implemented: function %r" % (where, head[1]))
            try:
                return FUNCS[head[1]](*args)
            except TemplateError as e:
                raise TemplateError("%s: %s" % (where, e)) from None
            except (TypeError, IndexError) as e:
                raise TemplateError("%s: %s%r: %s" % (where, head[1], tuple(args), e)) from None
        v = self.operand(head, dot, scopes, where)
        if callable(v):  # .Files.Get "path"
            return v(*args)
        if args:
            raise TemplateError("%s: can't give arguments to a non-function" % where)
        return v


_NONE = object()


# ------------------------------------------------------------------------------- Helm
def coalesce(base, override):
    """Helm's values merge: maps merge deeply, null deletes a key, anything else replaces."""
    out = dict(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = coalesce(out[k], v)
        else:
            out[k] = v
    return out


def load_values(chart_dir, overrides=()):
    with open(os.path.join(chart_dir, "values.yaml"), encoding="utf-8") as f:
        values = yaml.safe_load(f) or {}
    for o in overrides:
        values = coalesce(values, o)
    return values


def schema_errors(chart_dir, values):
    import jsonschema
    with open(os.path.join(chart_dir, "values.schema.json"), encoding="utf-8") as f:
        validator = jsonschema.Draft7Validator(json.load(f))
    return ["%s: %s" % ("/".join(map(str, e.path)) or "(root)", e.message)
            for e in sorted(validator.iter_errors(values), key=lambda e: list(map(str, e.path)))]


def render_chart(chart_dir, overrides=(), release="hotpath", namespace="default", chart=None):
    """Like `helm template RELEASE CHART -f ...`: {template path: rendered text}, NOTES.txt
    included. chart overrides Chart.yaml fields (Name, Version, AppVersion)."""
    with open(os.path.join(chart_dir, "Chart.yaml"), encoding="utf-8") as f:
        meta = yaml.safe_load(f)
    values = load_values(chart_dir, overrides)
    errors = schema_errors(chart_dir, values)
    if errors:
        raise TemplateError("values don't meet the schema:\n- " + "\n- ".join(errors))
    tdir = os.path.join(chart_dir, "templates")
    sources = {}
    for fn in sorted(os.listdir(tdir)):
        if not os.path.isfile(os.path.join(tdir, fn)):
            raise TemplateError("not implemented: templates/%s is not a file" % fn)
        with open(os.path.join(tdir, fn), encoding="utf-8") as f:
            sources["%s/templates/%s" % (meta["name"], fn)] = f.read()
    renderer = Renderer(sources)
    root = {"Values": go_values(values), "Files": chart_files(chart_dir),
            "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"},
            "Chart": dict({"Name": meta["name"], "Version": meta["version"],
                           "AppVersion": meta.get("appVersion")}, **(chart or {}))}
    base = "%s/templates" % meta["name"]
    return {name: renderer.render(name, dict(root, Template={"Name": name, "BasePath": base}))
            for name in sources if not os.path.basename(name).startswith("_")}


def manifests(rendered):
    """Rendered files -> their YAML documents (NOTES.txt and empty documents left out)."""
    return [doc for name, text in sorted(rendered.items()) if not name.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text) if doc is not None]


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("chart")
    p.add_argument("-f", "--values", action="append", default=[])
    a = p.parse_args()
    overrides = []
    for fn in a.values:
        with open(fn, encoding="utf-8") as f:
            overrides.append(yaml.safe_load(f) or {})
    for name, text in render_chart(a.chart, overrides).items():
        if text.strip() and not name.endswith("NOTES.txt"):
            print("---\n# Source: %s\n%s" % (name, text.strip("\n")))
