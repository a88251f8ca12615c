#!/usr/bin/env bash
# Shows that two builds of burgerpeiling write the same lake from the same inbox: every Parquet
# file and response.csv byte for byte, and the reports and _manifest.json once the run id (which
# differs between any two runs) is masked. Used to prove a refactoring changed no output.
#
# Usage: scripts/same-lake.sh BEFORE_BINARY AFTER_BINARY INBOX [POPULATION_DIR]
# Each binary runs `run --full` on INBOX with its own fresh lake and state directory, with one
# snapshot of the config directory (CONFIG_DIR, default the checkout's `config/`, copied once
# before either run so that an edit meanwhile cannot make the two differ) and the checkout's
# pipeline file. Exit 0 when the lakes agree, 1 otherwise.
set -euo pipefail
before=$(realpath "$1"); after=$(realpath "$2"); inbox=$(realpath "$3")
root=$(cd "$(dirname "$0")/.." && pwd)
population=${4:-$root/config/population}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "${CONFIG_DIR:-$root/config}" "$work/config"

for side in before after; do
  bin=$before; [ "$side" = after ] && bin=$after
  (cd "$root" && "$bin" -q --progress never --config "$work/config" run --full --inbox "$inbox" --lake "$work/$side/lake" \
      --state "$work/$side/state" --population "$population" > "$work/$side.log" 2>&1) || {
    echo "$side: the run failed:"; tail -20 "$work/$side.log"; exit 1; }
done

# Reports and the manifest carry the run id; mask it (and the run report's timings) before comparing.
normalise() {
  local lake=$1 run_id
  run_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$lake/_manifest.json")
  find "$lake" -type f \( -name '*.json' -o -name '*.html' \) -print0 | xargs -0 sed -i "s/$run_id/RUN_ID/g"
  for f in "$lake"/reports/runs/*; do mv "$f" "$lake/reports/runs/run.${f##*.}"; done
  python3 - "$lake/reports/runs/run.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["stage_seconds"] = {k: 0 for k in r.get("stage_seconds", {})}
json.dump(r, open(p, "w"), indent=2, sort_keys=True)
PY
  rm -f "$lake/reports/runs/run.html"   # shows the same timings; its content is the JSON's
}
normalise "$work/before/lake"
normalise "$work/after/lake"

files=$(cd "$work/before/lake" && find . -type f | sort | wc -l)
if diff -r "$work/before/lake" "$work/after/lake" > "$work/diff.txt"; then
  echo "same lake: $files files agree ($(cd "$work/before/lake" && find . -name '*.parquet' | wc -l) Parquet files byte for byte)"
else
  echo "the lakes differ:"; head -40 "$work/diff.txt"; exit 1
fi
