#!/usr/bin/env bash
# buf's checks of protos/ (protos/buf.yaml), run by make test:
#   1. buf lint: buf's default rules plus a comment on every element.
#   2. buf breaking against the main branch: a change that breaks v1 clients (a removed field,
#      a renumbered field, a renamed RPC) fails unless it is on main already.
#   3. A canary: a copy of protos/ with one field removed must fail the breaking check, so a
#      check that silently compares nothing cannot pass for a clean one.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf="$root/tools/buf/node_modules/.bin/buf"
cd "$root"

"$buf" lint protos
echo "check_protos: buf lint clean"

# The main branch as the checkout knows it: the local branch, or the remote's in a clone that
# has only a detached HEAD.
against=""
for ref in main origin/main; do
  if git rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then against="$ref"; break; fi
done
if [ -z "$against" ]; then
  echo "check_protos: no main branch in this checkout: buf breaking needs one" >&2
  exit 1
fi
"$buf" breaking protos --against ".git#ref=$(git rev-parse "$against"),subdir=protos"
echo "check_protos: no breaking change against $against"

canary="$(mktemp -d)"
trap 'rm -rf "$canary"' EXIT
cp -r protos "$canary/protos"
# Drop the first field of the admin service's GetInfo response.
/usr/bin/python3 - "$canary/protos/hotpath/admin/v1/admin.proto" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
start = text.index("message GetInfoResponse {")
field = re.compile(r"\n\s*[\w.]+ \w+ = \d+;").search(text, start)
open(path, "w").write(text[:field.start()] + text[field.end():])
PY
if "$buf" breaking "$canary/protos" --against protos >/dev/null 2>&1; then
  echo "check_protos: the breaking check passed a removed field: it checks nothing" >&2
  exit 1
fi
echo "check_protos: the breaking check catches a removed field"
