#!/usr/bin/env bash
# saf-net speaking iperf3's protocol, against the real iperf3 on loopback (docs/iperf3.md).
#
# Client direction: the same iperf3 server (`iperf3 -s`) tested by iperf3's own client and by
# `saf-net client --iperf3`, mode by mode (TCP 1 and 4 streams, -R, --bidir, UDP at 100 Mbit/s), in
# ROUNDS interleaved rounds. Each run's headline is the receiver's goodput (for --bidir, the sum of both
# directions' receivers); the script prints each mode's medians and saf-net / iperf3. Target: within 5 %.
#
# Usage: bench/iperf3-interop.sh [ROUNDS] [SECS]     (default 5 rounds of 3 s runs)
# Needs: iperf3, python3, a release build (cargo build --release).
set -euo pipefail
ROUNDS=${1:-5}
SECS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAF=${SAF_NET:-$ROOT/target/release/saf-net}
PORT=${PORT:-5291}
OUT=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$OUT"' EXIT
command -v iperf3 >/dev/null || { echo "iperf3 not installed" >&2; exit 1; }
[ -x "$SAF" ] || { echo "no $SAF: cargo build --release" >&2; exit 1; }

iperf3 -s -B 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
SERVER=$!
sleep 0.5

MODES=("tcp1|" "tcp4|-P 4" "reverse|-R" "bidir|--bidir" "udp|-u -b 100M")

# One run's receiver goodput in bit/s, from its -J document (iperf3's layout, which saf-net's -J keeps).
goodput() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = d["end"]
if "sum" in e and "sum_received" not in e:
    print(e["sum"]["bits_per_second"])
else:
    rev = e.get("sum_received_bidir_reverse", {}).get("bits_per_second", 0)
    print(e["sum_received"]["bits_per_second"] + rev)
' "$1"
}

for round in $(seq 1 "$ROUNDS"); do
    for m in "${MODES[@]}"; do
        name=${m%%|*}; args=${m#*|}
        # shellcheck disable=SC2086
        iperf3 -c 127.0.0.1 -p "$PORT" -t "$SECS" -J $args >"$OUT/i3-$name-$round.json"
        sleep 0.3
        # shellcheck disable=SC2086
        "$SAF" client 127.0.0.1 --iperf3 -p "$PORT" -t "$SECS" -J --no-history $args >"$OUT/saf-$name-$round.json"
        sleep 0.3
        echo "round $round $name: iperf3 $(goodput "$OUT/i3-$name-$round.json") saf-net $(goodput "$OUT/saf-$name-$round.json")" >&2
    done
done

echo "Client direction: iperf3 -s on loopback, $ROUNDS interleaved rounds of $SECS s, receiver goodput"
echo "| Mode | iperf3 → iperf3, Gbit/s (median) | saf-net → iperf3, Gbit/s (median) | saf-net / iperf3 |"
echo "|---|---|---|---|"
for m in "${MODES[@]}"; do
    name=${m%%|*}
    a=(); b=()
    for round in $(seq 1 "$ROUNDS"); do
        a+=("$(goodput "$OUT/i3-$name-$round.json")")
        b+=("$(goodput "$OUT/saf-$name-$round.json")")
    done
    python3 -c '
import statistics, sys
n = int(sys.argv[2]); v = list(map(float, sys.argv[3:]))
a, b = statistics.median(v[:n]), statistics.median(v[n:])
print(f"| {sys.argv[1]} | {a/1e9:.3f} | {b/1e9:.3f} | {b/a:.3f} |")
' "$name" "$ROUNDS" "${a[@]}" "${b[@]}"
done

# Server direction (iperf3 client → saf-net server --iperf3): added with the server side (branch i3server).
