"""Generates docs/api.md, the API reference, from the comments in the public .proto files.

    /usr/bin/python3 tools/apidocs/gen_api_docs.py            # rewrite docs/api.md
    /usr/bin/python3 tools/apidocs/gen_api_docs.py --check    # exit 1 if docs/api.md is stale

The comments are the reference (buf lint requires one on every element), so the page is only
ever generated; make test runs --check, so it never drifts from the protos.
"""

import argparse
import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTOS = [
    "hotpath/session/v1/session.proto",
    "hotpath/ratelimit/v1/ratelimit.proto",
    "hotpath/leaderboard/v1/leaderboard.proto",
    "hotpath/pubsub/v1/pubsub.proto",
    "hotpath/admin/v1/admin.proto",
]
OUTPUT = os.path.join(ROOT, "docs", "api.md")

# SourceCodeInfo paths: field numbers of FileDescriptorProto, DescriptorProto, ...
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE = 4, 5, 6
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM = 2, 3, 4
ENUM_VALUE, SERVICE_METHOD = 2, 2

SCALARS = {
    descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE: "double",
    descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT: "float",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: "int64",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT64: "uint64",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT32: "int32",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32: "uint32",
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: "bool",
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: "string",
    descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: "bytes",
}


def descriptor_set():
    with tempfile.NamedTemporaryFile(suffix=".pb") as out:
        subprocess.run(["protoc", "--include_source_info", "--descriptor_set_out=" + out.name,
                        "-I", os.path.join(ROOT, "protos")] + PROTOS, check=True)
        files = descriptor_pb2.FileDescriptorSet()
        files.ParseFromString(out.read())
        return files


def comment_index(proto_file):
    return {tuple(loc.path): loc.leading_comments for loc in proto_file.source_code_info.location}


def text(comment):
    """A leading comment as Markdown: lines joined, paragraphs kept."""
    paragraphs = [" ".join(line.strip() for line in block.strip().splitlines())
                  for block in comment.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def cell(comment):
    return text(comment).replace("\n\n", "<br>").replace("|", "\\|")


def anchor(full_name):
    return full_name.lstrip(".").replace(".", "-").lower()


def type_name(field, messages):
    if field.type in SCALARS:
        name = "`%s`" % SCALARS[field.type]
    else:
        full = field.type_name.lstrip(".")
        entry = messages.get(full)
        if entry is not None and entry.options.map_entry:
            key = type_name(entry.field[0], messages)
            value = type_name(entry.field[1], messages)
            return "`map<%s, %s>`" % (key.strip("`"), value.strip("`"))
        short = full.rsplit(".", 1)[-1]
        name = ("[`%s`](#%s)" % (short, anchor(full)) if full.startswith("hotpath.")
                else "`%s`" % full)
    if field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        return "repeated " + name
    if field.proto3_optional:
        return "optional " + name
    return name


def render_enum(out, enum, full_name, comments, path):
    out.append("#### enum %s\n" % full_name.rsplit(".", 1)[-1])
    out.append('<a id="%s"></a>%s\n' % (anchor(full_name), text(comments.get(path, ""))))
    out.append("| value | number | description |\n|---|---|---|")
    for i, value in enumerate(enum.value):
        out.append("| `%s` | %d | %s |" % (value.name, value.number,
                                          cell(comments.get(path + (ENUM_VALUE, i), ""))))
    out.append("")


def render_message(out, message, full_name, comments, path, messages):
    if message.options.map_entry:
        return
    out.append("#### %s\n" % full_name.split(".", 3)[-1])
    out.append('<a id="%s"></a>%s\n' % (anchor(full_name), text(comments.get(path, ""))))
    if message.field:
        out.append("| field | type | number | description |\n|---|---|---|---|")
        for i, field in enumerate(message.field):
            description = cell(comments.get(path + (MESSAGE_FIELD, i), ""))
            if field.HasField("oneof_index") and not field.proto3_optional:
                description = "(one of `%s`) %s" % (message.oneof_decl[field.oneof_index].name,
                                                     description)
            out.append("| `%s` | %s | %d | %s |" % (field.name, type_name(field, messages),
                                                   field.number, description))
        out.append("")
    for i, nested in enumerate(message.nested_type):
        render_message(out, nested, full_name + "." + nested.name, comments,
                       path + (MESSAGE_NESTED, i), messages)
    for i, enum in enumerate(message.enum_type):
        render_enum(out, enum, full_name + "." + enum.name, comments, path + (MESSAGE_ENUM, i))


def collect_messages(files):
    found = {}

    def walk(prefix, message):
        found[prefix + message.name] = message
        for nested in message.nested_type:
            walk(prefix + message.name + ".", nested)

    for f in files.file:
        for message in f.message_type:
            walk(f.package + ".", message)
    return found


def render(files):
    messages = collect_messages(files)
    out = ["# API reference", "",
           "Generated from the comments in `protos/` by `tools/apidocs/gen_api_docs.py`; do not "
           "edit by hand (make test fails when this page and the protos differ). Every call "
           "may also answer `UNAUTHENTICATED` or `PERMISSION_DENIED` when the server checks "
           "credentials (docs/security.md), and `UNAVAILABLE` while it loads or drains.", "",
           "hotpathd also serves `grpc.health.v1.Health` (gRPC's health checking protocol), "
           "server reflection, and Envoy's `envoy.service.ratelimit.v3.RateLimitService` "
           "(docs/ratelimit.md); their reference is upstream's.", ""]
    wanted = {f for f in PROTOS}
    for f in files.file:
        if f.name not in wanted:
            continue
        comments = comment_index(f)
        out.append("## %s\n" % f.package)
        out.append("`protos/%s`. %s\n" % (f.name, text(comments.get((2,), ""))))
        for s_index, service in enumerate(f.service):
            path = (FILE_SERVICE, s_index)
            out.append("### service %s\n" % service.name)
            out.append(text(comments.get(path, "")) + "\n")
            out.append("| RPC | request | response | description |\n|---|---|---|---|")
            for m_index, method in enumerate(service.method):
                request = method.input_type.lstrip(".")
                response = method.output_type.lstrip(".")
                out.append("| `%s` | %s[%s](#%s) | %s[%s](#%s) | %s |" % (
                    method.name, "stream " if method.client_streaming else "",
                    request.rsplit(".", 1)[-1], anchor(request),
                    "stream " if method.server_streaming else "",
                    response.rsplit(".", 1)[-1], anchor(response),
                    cell(comments.get(path + (SERVICE_METHOD, m_index), ""))))
            out.append("")
        out.append("### Messages and enums\n")
        for i, message in enumerate(f.message_type):
            render_message(out, message, f.package + "." + message.name, comments,
                           (FILE_MESSAGE, i), messages)
        for i, enum in enumerate(f.enum_type):
            render_enum(out, enum, f.package + "." + enum.name, comments, (FILE_ENUM, i))
    return "\n".join(out).rstrip() + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/api.md is stale")
    args = parser.parse_args()
    page = render(descriptor_set())
    if args.check:
        current = open(OUTPUT).read() if os.path.exists(OUTPUT) else ""
        if current != page:
            print("docs/api.md is stale: run /usr/bin/python3 tools/apidocs/gen_api_docs.py",
                  file=sys.stderr)
            return 1
        print("docs/api.md matches the protos")
        return 0
    with open(OUTPUT, "w") as f:
        f.write(page)
    print("wrote", OUTPUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
