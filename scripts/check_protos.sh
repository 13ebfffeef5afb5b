#!/usr/bin/env bash
# buf's checks of protos/ (protos/buf.yaml), run by make test:
#   1. buf lint: buf's default rules plus a comment on every element.
#   2. buf breaking against protos/baseline/v1.json, the released v1 API: a change that breaks
#      v1 clients (a removed or renumbered field, a renamed RPC) fails, on any branch.
#   3. buf breaking against the main branch, for changes not yet on it.
#   4. Canaries: a copy of protos/ with one field removed must fail both breaking checks, so a
#      check that silently compares nothing cannot pass for a clean one.
# `check_protos.sh --update-baseline` rewrites the baseline from protos/: only at a release,
# and never to let a breaking change through.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf="$root/tools/buf/node_modules/.bin/buf"
baseline="protos/baseline/v1.json"
cd "$root"

if [ "${1:-}" = "--update-baseline" ]; then
  # buf picks the image format from the name: .json.
  "$buf" build protos --exclude-source-info -o "$baseline.tmp.json"
  # One element per line, so a baseline change reads as a diff.
  /usr/bin/python3 -c 'import json, sys
image = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as out:
    json.dump(image, out, indent=1)
    out.write("\n")' "$baseline.tmp.json" "$baseline"
  rm "$baseline.tmp.json"
  echo "check_protos: wrote $baseline"
  exit 0
fi

"$buf" lint protos
echo "check_protos: buf lint clean"

"$buf" breaking protos --against "$baseline"
echo "check_protos: no breaking change against $baseline"

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
main_input=".git#ref=$(git rev-parse "$against"),subdir=protos"
"$buf" breaking protos --against "$main_input"
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
for input in "$baseline" "$main_input"; do
  if "$buf" breaking "$canary/protos" --against "$input" >/dev/null 2>&1; then
    echo "check_protos: buf breaking against $input passed a removed field: it checks nothing" >&2
    exit 1
  fi
done
echo "check_protos: both breaking checks catch a removed field"
