#!/usr/bin/env bash
# Collective busbw in a 4-host lab (default 10gbe-jumbo): ring allreduce at 16M, 64M and 256M per rank, the
# cores each host's saf-net used (its -J `cpu`), this machine's CPU busy share during the run (/proc/stat, so
# the kernel's networking counts), and a plain statement of whether this machine's CPU or the link is the limit.
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

OUT=""
cleanup() { "$SAF" lab down --name "$LAB" >/dev/null 2>&1 || true; [ -z "$OUT" ] || rm -rf "$OUT"; }
trap cleanup EXIT
cleanup
OUT=$(mktemp -d)

"$SAF" lab up "$PROFILE" --hosts "$HOSTS" --name "$LAB" > "$OUT/up.txt"
STATE=/run/saf-net/labs/$LAB/state.json
read -r -a ADDRS <<< "$(python3 -c 'import json,sys; print(" ".join("h%d=%s" % (h["index"], h["address"]) for h in json.load(open(sys.argv[1]))["hosts"]))' "$STATE")"
ceiling=$(python3 -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["ceiling_mbps"])' "$STATE")

# busy and total jiffies of the whole machine (every CPU: user nice system idle iowait irq softirq steal)
machine() { awk '/^cpu / {busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6}' /proc/stat; }

echo "saf-net collective lab bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Linux $(uname -r), $("$SAF" --version)"
echo "lab $PROFILE --hosts $HOSTS (TCP ceiling $ceiling Mbit/s), allreduce f32, sizes $SIZES, $ITERS iterations + 1 warm-up, $RUNS runs"
for run in $(seq 1 "$RUNS"); do
    read -r busy0 all0 <<< "$(machine)"
    "$SAF" lab exec --name "$LAB" --host 1 -- saf-net collective "${ADDRS[@]}" --sizes "$SIZES" \
        --iters "$ITERS" --warmup 1 --profile "$PROFILE" --no-history -J > "$OUT/run$run.json" 2> "$OUT/run$run.err" || true
    read -r busy1 all1 <<< "$(machine)"
    busy=$(awk -v b=$((busy1 - busy0)) -v a=$((all1 - all0)) 'BEGIN {printf "%.2f", a ? b / a : 0}')
    python3 - "$OUT/run$run.json" "$ceiling" "$run" "$busy" "$(nproc)" <<'PY'
import json, sys
doc, ceiling, run, busy, cores = json.load(open(sys.argv[1])), float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
cells = []
for r in doc["results"]:
    b = r["busbw_bps"]
    fig = "-" if b is None else "%.0f Mbit/s (%.1f %%)%s" % (b / 1e6, 100 * b / 1e6 / ceiling, "" if r["verified"] else " WRONG")
    cells.append("%dM: %s" % (r["size_bytes"] >> 20, fig))
peak = max([(r["busbw_bps"] or 0) for r in doc["results"]] or [0]) / 1e6
print("run %s: %s" % (run, "; ".join(cells)))
each = ", ".join("%s %s" % (n["node"], "unknown" if n["cores_used"] is None else "%.2f" % n["cores_used"]) for n in doc.get("cpu", []))
print("       cores each host's saf-net used in the timed iterations of the largest size: %s" % (each or "unknown"))
print("       this machine's CPUs were %.0f %% busy during the run (%d cores, kernel networking included)" % (100 * busy, cores))
if peak >= 0.9 * ceiling:
    print("       peak busbw %.0f Mbit/s is %.1f %% of the ceiling: the link is the limit" % (peak, 100 * peak / ceiling))
elif busy >= 0.9:
    print("       peak busbw %.0f Mbit/s is %.1f %% of the ceiling: this machine's CPU, not the link, is the limit (its %d cores carry all %d hosts and their links)" % (peak, 100 * peak / ceiling, cores, len(doc["nodes"])))
else:
    print("       peak busbw %.0f Mbit/s is %.1f %% of the ceiling with the CPUs %.0f %% busy: neither is plainly the limit" % (peak, 100 * peak / ceiling, 100 * busy))
PY
done
