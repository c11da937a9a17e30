#!/usr/bin/env bash
# Server direction of saf-net speaking iperf3's protocol (docs/iperf3.md): the real iperf3 client
# (`iperf3 -c`) against `saf-net server` and against iperf3's own server (`iperf3 -s`), both on loopback,
# mode by mode (TCP 1 and 4 streams, -R, --bidir, UDP at 100 Mbit/s both ways), in ROUNDS interleaved
# rounds. Each run's headline is the receiver's goodput as the iperf3 client reports it (for --bidir, the
# sum of both directions' receivers); the script prints each mode's medians and saf-net / iperf3.
# Target: within 5 %. (The client direction, saf-net --iperf3 → iperf3 -s, is bench/iperf3-interop.sh.)
#
# Usage: bench/iperf3-interop-server.sh [ROUNDS] [SECS]     (default 5 rounds of 3 s runs)
# Needs: iperf3, python3, a release build (cargo build --release).
set -euo pipefail
ROUNDS=${1:-5}
SECS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAF=${SAF_NET:-$ROOT/target/release/saf-net}
I3_PORT=${I3_PORT:-5292}
SAF_PORT=${SAF_PORT:-5293}
OUT=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$OUT"' EXIT
command -v iperf3 >/dev/null || { echo "iperf3 not installed" >&2; exit 1; }
[ -x "$SAF" ] || { echo "no $SAF: cargo build --release" >&2; exit 1; }

iperf3 -s -B 127.0.0.1 -p "$I3_PORT" >/dev/null 2>&1 &
PIDS+=($!)
SAF_NET_HISTORY="$OUT/history.csv" "$SAF" server -q -B 127.0.0.1 -p "$SAF_PORT" &
PIDS+=($!)
sleep 0.5

MODES=("tcp1|" "tcp4|-P 4" "reverse|-R" "bidir|--bidir" "udp|-u -b 100M" "udp-reverse|-u -b 100M -R")

# One run's receiver goodput in bit/s, from the iperf3 client's -J document; exits non-zero on an error.
goodput() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    sys.exit(sys.argv[1] + ": " + d["error"])
e = d["end"]
rev = e.get("sum_received_bidir_reverse", {}).get("bits_per_second", 0)
print(e["sum_received"]["bits_per_second"] + rev)
' "$1"
}

for round in $(seq 1 "$ROUNDS"); do
    for m in "${MODES[@]}"; do
        name=${m%%|*}; args=${m#*|}
        # shellcheck disable=SC2086
        iperf3 -c 127.0.0.1 -p "$I3_PORT" -t "$SECS" -J $args >"$OUT/i3-$name-$round.json"
        sleep 0.3
        # shellcheck disable=SC2086
        iperf3 -c 127.0.0.1 -p "$SAF_PORT" -t "$SECS" -J $args >"$OUT/saf-$name-$round.json"
        sleep 0.3
        echo "round $round $name: iperf3 -s $(goodput "$OUT/i3-$name-$round.json") saf-net server $(goodput "$OUT/saf-$name-$round.json")" >&2
    done
done

echo "Server direction: iperf3 -c on loopback, $ROUNDS interleaved rounds of $SECS s, receiver goodput"
echo "| Mode | iperf3 → iperf3 -s, Gbit/s (median) | iperf3 → saf-net server, Gbit/s (median) | saf-net / iperf3 |"
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
