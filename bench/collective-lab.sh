#!/usr/bin/env bash
# Collective busbw in a 4-host lab (default 10gbe-jumbo): ring allreduce at 16M, 64M and 256M per rank, each
# host's saf-net server's CPU share during the run (from /proc/PID/stat), and a plain statement of whether
# this machine's CPU or the link is the limit.
#
# Usage (root):  bench/collective-lab.sh                 PROFILE=10gbe-jumbo HOSTS=4 ITERS=5 RUNS=3
#                PROFILE=1gbe bench/collective-lab.sh
# Needs: python3 (to read the JSON), a release build (built here if missing).
# Traffic stays inside the lab's own namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-10gbe-jumbo}
HOSTS=${HOSTS:-4}
ITERS=${ITERS:-5}
RUNS=${RUNS:-3}
SIZES=${SIZES:-16M,64M,256M}
LAB=${LAB:-cbench}
SAF=${SAF_NET:-target/release/saf-net}

[ "$(id -u)" = 0 ] || { echo "bench/collective-lab.sh needs root (it builds a lab)" >&2; exit 1; }
[ -x "$SAF" ] || cargo build --release --quiet
SAF=$(realpath "$SAF")
TICKS=$(getconf CLK_TCK)
OUT=$(mktemp -d)

cleanup() { "$SAF" lab down --name "$LAB" >/dev/null 2>&1 || true; rm -rf "$OUT"; }
trap cleanup EXIT
cleanup
OUT=$(mktemp -d)

"$SAF" lab up "$PROFILE" --hosts "$HOSTS" --name "$LAB" > "$OUT/up.txt"
STATE=/run/saf-net/labs/$LAB/state.json
read -r -a ADDRS <<< "$(python3 -c 'import json,sys; print(" ".join("h%d=%s" % (h["index"], h["address"]) for h in json.load(open(sys.argv[1]))["hosts"]))' "$STATE")"
read -r -a PIDS <<< "$(python3 -c 'import json,sys; print(" ".join(str(h["server"]["pid"]) for h in json.load(open(sys.argv[1]))["hosts"]))' "$STATE")"
ceiling=$(python3 -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["ceiling_mbps"])' "$STATE")

# utime + stime of a process, in clock ticks
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "saf-net collective lab bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Linux $(uname -r), $("$SAF" --version)"
echo "lab $PROFILE --hosts $HOSTS (TCP ceiling $ceiling Mbit/s), allreduce f32, sizes $SIZES, $ITERS iterations + 1 warm-up, $RUNS runs"
for run in $(seq 1 "$RUNS"); do
    before=(); for p in "${PIDS[@]}"; do before+=("$(cpu "$p")"); done
    start=$(date +%s.%N)
    "$SAF" lab exec --name "$LAB" --host 1 -- saf-net collective "${ADDRS[@]}" --sizes "$SIZES" \
        --iters "$ITERS" --warmup 1 --profile "$PROFILE" --no-history -J > "$OUT/run$run.json" 2> "$OUT/run$run.err" || true
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    shares=""; total=0
    for i in "${!PIDS[@]}"; do
        used=$(( $(cpu "${PIDS[$i]}") - ${before[$i]} ))
        share=$(awk -v u="$used" -v t="$TICKS" -v w="$wall" 'BEGIN {printf "%.2f", u / t / w}')
        shares+=" h$((i + 1))=$share"; total=$(awk -v a="$total" -v b="$share" 'BEGIN {print a + b}')
    done
    python3 - "$OUT/run$run.json" "$ceiling" "$run" "$shares" "$total" "$(nproc)" <<'PY'
import json, sys
doc, ceiling, run, shares, total, cores = json.load(open(sys.argv[1])), float(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
cells = []
for r in doc["results"]:
    b = r["busbw_bps"]
    cells.append("%s %s" % (r["size_bytes"] >> 20, "-" if b is None else "%.0f Mbit/s (%.1f %%)%s" % (b / 1e6, 100 * b / 1e6 / ceiling, "" if r["verified"] else " WRONG")))
peak = max((r["busbw_bps"] or 0) for r in doc["results"]) / 1e6 if doc["results"] else 0
print("run %s: %s" % (run, "; ".join("%sM: %s" % tuple(c.split(" ", 1)) for c in cells)))
print("       CPU cores used by each host's server during the run:%s; total %.2f of %d" % (shares, total, cores))
if peak < 0.9 * ceiling:
    limit = "this machine's CPU" if total >= 0.8 * cores else "not the CPU (%.2f of %d cores busy): look at the link or the lab" % (total, cores)
    print("       peak busbw %.0f Mbit/s is %.1f %% of the ceiling: the limit is %s" % (peak, 100 * peak / ceiling, limit))
else:
    print("       peak busbw %.0f Mbit/s is %.1f %% of the ceiling: the link is the limit" % (peak, 100 * peak / ceiling))
PY
done
