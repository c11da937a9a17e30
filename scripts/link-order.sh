#!/bin/sh
# Writes link/saf-net.order, the functions a saf-net server runs, for scripts/link-ordered.sh to lay out together.
# Runs a release build's server under valgrind's callgrind through TCP tests of 16 streams each way and a UDP test,
# on loopback only. (Ordering the clients' functions too made the server's span longer and its memory larger.)
# Needs valgrind (apt-get install -y valgrind).
# Rerun after large changes to the server's or the engine's code: names that no longer exist are skipped at link
# time, so a stale list costs memory, never a build.
# Usage: scripts/link-order.sh [PORT]   (default 31993)
set -eu
cd "$(dirname "$0")/.."
port=${1:-31993}
command -v valgrind >/dev/null || { echo "link-order: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 2; }
cargo build --release --quiet
bin=target/release/saf-net
dir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$dir/server.cg" "$bin" server -p "$port" >"$dir/server.log" 2>&1 &
server=$!
i=0
while ! python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 60 ] || { echo "link-order: the server did not start" >&2; cat "$dir/server.log" >&2; exit 1; }
    sleep 1
done
for args in "-t 2 -P 16" "-t 2 -P 16 -R" "-t 1 -u -b 100M"; do
    # shellcheck disable=SC2086
    "$bin" client 127.0.0.1 -p "$port" --no-history $args >/dev/null 2>&1 || echo "link-order: client $args failed" >&2
done
kill -INT "$server"; wait "$server" 2>/dev/null || true
python3 - "$dir/server.cg" <<'PY' | sed -E -f scripts/symbol-names.sed | awk '!seen[$0]++' >link/saf-net.order
import re, sys
# callgrind's compressed names: "ob=(N) path", "fn=(N) name", later "fn=(N)"; cob=/cfn= define names too.
# A function with an fn= record ran (it has a cost); "'2" marks a recursion level.
objs, names, obj = {}, {}, None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(c?)(ob|fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if not m:
        continue
    called, kind, key, name = m.groups()
    table = objs if kind == "ob" else names
    if name:
        table[key] = name
    if kind == "ob" and not called:
        obj = objs.get(key)
    elif kind == "fn" and not called and obj and obj.endswith("/saf-net"):
        print(names[key].split("'")[0])
PY
echo "link/saf-net.order: $(wc -l <link/saf-net.order) functions"
