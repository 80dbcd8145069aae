#!/usr/bin/env bash
# Regenerates the method reference of docs/RPC.md from `topo rpc describe` (the method
# table in src/api/ is the source). The text above "## Methods" is kept as it is.
# Usage: scripts/gen-rpc-doc.sh [path/to/topo]   (default: build/bin/topo)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
topo=${1:-$root/build/bin/topo}
doc=$root/docs/RPC.md
tmp=$(mktemp -d)
trap '"$topo" --db "$tmp/d.db" stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
"$topo" --db "$tmp/d.db" init >/dev/null
{
  sed -n '/^## Methods/q;p' "$doc"
  echo "## Methods"
  for m in $("$topo" --db "$tmp/d.db" --json rpc methods | python3 -c 'import json,sys; [print(m["method"]) for m in json.load(sys.stdin)]'); do
    "$topo" --db "$tmp/d.db" --json rpc describe "$m" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("\n### `%s`\n\n%s.\n" % (d["method"], d["summary"]))
if d["params"]:
    print("| param | |\n|---|---|")
    for k, v in d["params"].items():
        print("| `%s` | %s |" % (k, v))
else:
    print("No parameters.")
print("\nResult: `%s`\n\nExample: `%s`" % (d["result"], json.dumps(d["example"])))'
  done
} >"$tmp/RPC.md"
mv "$tmp/RPC.md" "$doc"
