#!/usr/bin/env bash
# The upgrade rehearsal of docs/lab.md, recorded: a 1GbE lab and a run labelled "before", then a
# 10GbE jumbo lab and a run labelled "after". Writes reports/example/{transcript.txt,history.csv,runs/}.
# Usage (root): bench/rehearsal.sh        SECS=10 by default
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-10}
OUT=reports/example
[ "$(id -u)" = 0 ] || { echo "bench/rehearsal.sh needs root (it builds labs)" >&2; exit 1; }
[ -x target/release/saf-net ] || cargo build --release --quiet
# `saf-net` on PATH, so the transcript shows the commands as a user types them.
bin=$(mktemp -d)
ln -s "$(realpath target/release/saf-net)" "$bin/saf-net"
export PATH="$bin:$PATH"
trap 'saf-net lab down >/dev/null 2>&1 || true; rm -rf "$bin"' EXIT
saf-net lab down >/dev/null

mkdir -p "$OUT"
rm -rf "$OUT/history.csv" "$OUT/.history.csv.lock" "$OUT/runs"
transcript="$OUT/transcript.txt"
run() {
    echo "\$ $*" >> "$transcript"
    "$@" >> "$transcript" 2>&1
    echo >> "$transcript"
}
far() { python3 -c 'import json; print(json.load(open("/run/saf-net/labs/default/state.json"))["far_addr"])'; }

{
    echo "# saf-net upgrade rehearsal: 1GbE today, 10GbE with jumbo frames after the switch upgrade."
    echo "# Recorded by bench/rehearsal.sh on $(date -u +%Y-%m-%d), $(nproc) cores, Linux $(uname -r), $(saf-net --version)."
    echo
} > "$transcript"

run saf-net lab up 1gbe
run saf-net lab status
run saf-net lab exec -- saf-net client "$(far)" -t "$SECS" --label before --csv "$OUT/history.csv"
run saf-net lab down
run saf-net lab up 10gbe-jumbo
run saf-net lab exec -- saf-net client "$(far)" -t "$SECS" --label after --csv "$OUT/history.csv"
run saf-net lab down
rm -f "$OUT/.history.csv.lock"  # the history's lock file, not a result
echo "\$ cat $OUT/history.csv" >> "$transcript"
cat "$OUT/history.csv" >> "$transcript"
cat "$transcript"
