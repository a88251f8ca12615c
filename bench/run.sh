#!/usr/bin/env bash
# End-to-end benchmark of the nightly job (issue 9): synthesises the 340,000-respondent corpus
# once, then times `burgerpeiling run` under /usr/bin/time -v — a full rebuild from a cold state,
# a no-op run, a run with one new delivery, `reprocess` of one year, a full rebuild at 10x the
# rows — and the Polars peer job (bench/peer_polars.py) on the same files. The 1x and 10x full
# rebuilds alternate (1x, 10x, 1x, 10x, ...), so a machine that drifts in speed hits both alike
# and the 10x/1x ratio is taken pair by pair. Prints medians of wall time and peak memory
# against the targets, the files a cold run creates, the per-stage breakdown from the run
# report, and the machine, and writes them as a markdown fragment for BENCHMARKS.md.
#
# Environment: RUNS (repetitions per measure, default 5), RUNS_10X (of the 10x rebuild,
# default 1; 0 skips it), PEER (0 skips the Polars job), BENCH_DIR (default target/bench-e2e),
# BENCH_VENV (the Python venv for the peer, default target/bench-venv), CARGO_TARGET_DIR;
# for a quick smoke test of the script itself, MUNICIPALITIES (default 60), RESPONDENTS_1X
# (default 567) and RESPONDENTS_10X (default 10 times that).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
RUNS_10X=${RUNS_10X:-1}
PEER=${PEER:-1}
BENCH_DIR=${BENCH_DIR:-target/bench-e2e}
BENCH_VENV=${BENCH_VENV:-target/bench-venv}
BIN=${CARGO_TARGET_DIR:-target}/release/burgerpeiling
# The corpus of the issue: 60 municipalities x 10 years = 600 deliveries of ~567 respondents.
SYNTH_ARGS=(--municipalities "${MUNICIPALITIES:-60}" --years 2015-2024 --formats xlsx=50,csv=40,sav=5,xls=5)
RESPONDENTS_1X=${RESPONDENTS_1X:-567}
RESPONDENTS_10X=${RESPONDENTS_10X:-$((10 * RESPONDENTS_1X))}
REPROCESS_YEAR=2020

die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive whole number, not '$RUNS'"
[[ $RUNS_10X =~ ^[0-9]+$ ]] || die "RUNS_10X must be a whole number (0 skips the 10x rebuild), not '$RUNS_10X'"
if [[ $(/usr/bin/time -v true 2>&1) != *"Maximum resident set size"* ]]; then
  die "GNU time is needed at /usr/bin/time (for peak memory); install it, e.g. 'apt-get install time'"
fi
command -v python3 >/dev/null || die "python3 is needed (run reports, the Polars peer); install it"

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
LOGS=$BENCH_DIR/logs
RAW=$BENCH_DIR/raw.tsv
RESULTS=$BENCH_DIR/results.md
rm -rf "$LOGS" "$BENCH_DIR/reports" "$BENCH_DIR/trash"
mkdir -p "$LOGS" "$BENCH_DIR/reports"
printf 'measure\trun\twall_s\tmax_rss_kb\n' >"$RAW"
FILES=$BENCH_DIR/files.tsv
printf 'measure\trun\tfiles\tcache_files\n' >"$FILES"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== build"
# `synth` makes the corpus: the feature is needed.
cargo build --release --locked --features synth

if [[ $PEER != 0 ]]; then
  if ! "$BENCH_VENV/bin/python" -c "import polars, fastexcel, pyreadstat" 2>/dev/null; then
    echo "== installing polars, fastexcel and pyreadstat into $BENCH_VENV"
    python3 -m venv "$BENCH_VENV" || die "cannot create a venv at $BENCH_VENV (on Debian: apt-get install python3-venv)"
    "$BENCH_VENV/bin/pip" install --quiet polars fastexcel pyreadstat \
      || die "pip could not install polars, fastexcel and pyreadstat; install them into $BENCH_VENV by hand, or run with PEER=0"
  fi
fi

# corpus DIR RESPONDENTS: synthesises the corpus into DIR once (again only when its arguments
# changed) and picks the held-back delivery: the first .xlsx of the last year.
corpus() {
  local dir=$1 respondents=$2
  local args="${SYNTH_ARGS[*]} --respondents $respondents"
  if [[ ! -f $dir/.synth-args || $(cat "$dir/.synth-args") != "$args" ]]; then
    echo "== synthesising $dir ($args)"
    rm -rf "$dir"
    "$BIN" --progress never synth --out "$dir" "${SYNTH_ARGS[@]}" --respondents "$respondents" >"$dir.synth.txt" 2>&1 \
      || die "synthesising $dir failed: see $dir.synth.txt"
    cat "$dir.synth.txt"
    local last
    last=$(ls "$dir/inbox" | sort | tail -n 1)
    (cd "$dir/inbox" && ls "$last" | grep '\.xlsx$' | sort | awk 'NR == 1' | sed "s|^|$last/|") >"$dir/held-back.txt"
    [[ -s $dir/held-back.txt ]] || die "no .xlsx delivery in $dir to hold back"
    echo "$args" >"$dir/.synth-args"
  fi
}

# held_in / held_out DIR: the held-back delivery into the inbox, or out to DIR/held-back/.
held_in() {
  local f
  f=$(cat "$1/held-back.txt")
  if [[ -f $1/held-back/$f ]]; then mv "$1/held-back/$f" "$1/inbox/$f"; fi
}
held_out() {
  local f
  f=$(cat "$1/held-back.txt")
  mkdir -p "$(dirname "$1/held-back/$f")"
  if [[ -f $1/inbox/$f ]]; then mv "$1/inbox/$f" "$1/held-back/$f"; fi
}

# pipeline_file CORPUS WORK: a pipeline file like pipelines/nightly.toml for the corpus.
pipeline_file() {
  local corpus=$1 work=$2
  mkdir -p "$work"
  cat >"$work/pipeline.toml" <<EOF
# Written by bench/run.sh: the nightly job over the benchmark corpus.
name = "bench"

[paths]
inbox = "$corpus/inbox"
lake = "$work/lake"
population = "$corpus/population"
state = "$work/state"

[limits]
max_file_bytes = 1073741824
max_decompressed_bytes = 1073741824

[dedup]
redelivery = "replace"
near_duplicates = "report"
EOF
}

# discard DIR...: moves DIRs out of the way into the trash, emptied at the end of the script.
# Deleting them on the spot would time the file system, not the job: ext4 skips inodes freed in
# the last seconds when it allocates new ones, so a run that creates thousands of files right
# after thousands were deleted spent a fifth of its CPU searching for inodes (perf:
# recently_deleted, find_get_block_common), and each repetition was slower than the one before.
TRASH=$BENCH_DIR/trash
discard() {
  local d
  mkdir -p "$TRASH"
  for d in "$@"; do
    if [[ -e $d ]]; then mv "$d" "$(mktemp -d "$TRASH/XXXXXX")/"; fi
  done
}

# timed MEASURE RUN COMMAND...: runs COMMAND under /usr/bin/time -v and appends its wall time
# (nanosecond clock) and peak resident memory to raw.tsv. Dirty pages are written out first
# (`sync`), so a run does not pay for the set-up's writes (a restored lake, a synthesised corpus).
timed() {
  local measure=$1 run=$2
  shift 2
  local log=$LOGS/$measure-$run.log
  local t0 t1 rss
  sync
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$log.time" "$@" >"$log" 2>&1 \
    || die "$measure (run $run) failed: see $log and $log.time"
  t1=$(date +%s%N)
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")
  printf '%s\t%s\t%s\t%s\n' "$measure" "$run" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')" "$rss" >>"$RAW"
  printf '  %-12s run %d: %8.3f s %8.0f MiB\n' "$measure" "$run" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1e9}')" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
}

# keep_report WORK NAME: copies the newest run report of the lake to reports/NAME.json.
keep_report() {
  local newest
  newest=$(ls -t "$1"/lake/reports/runs/*.json 2>/dev/null | awk 'NR == 1') || true
  [[ -n $newest ]] || die "no run report under $1/lake/reports/runs"
  cp "$newest" "$BENCH_DIR/reports/$2.json"
}

# median MEASURE COLUMN: the median of a raw.tsv column (3 wall, 4 rss) over the measure's runs.
median() {
  awk -F'\t' -v m="$1" -v c="$2" '$1 == m {print $c}' "$RAW" | sort -g \
    | awk '{v[NR] = $1} END {if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# pair_ratio: the median over the alternating pairs (1x run i, 10x run i) of 10x time / 1x time:
# each ratio compares two runs made one right after the other.
pair_ratio() {
  awk -F'\t' '$1 == "cold" {c[$2] = $3} $1 == "cold-10x" {t[$2] = $3}
    END {for (i in t) if (i in c) print t[i] / c[i]}' "$RAW" | sort -g \
    | awk '{v[NR] = $1} END {if (NR == 0) exit 1; printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# median_files MEASURE COLUMN: the median of a files.tsv column (3 all files, 4 cache files).
median_files() {
  awk -F'\t' -v m="$1" -v c="$2" '$1 == m {print $c}' "$FILES" | sort -g \
    | awk '{v[NR] = $1} END {if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# median_run MEASURE: the run whose wall time is the median (the lower middle for an even count).
median_run() {
  awk -F'\t' -v m="$1" '$1 == m {print $3 "\t" $2}' "$RAW" | sort -g \
    | awk '{r[NR] = $2} END {print r[int((NR + 1) / 2)]}'
}


# cold_setup CORPUS WORK RESPONDENTS: the corpus and its pipeline file, the whole inbox.
cold_setup() {
  corpus "$1" "$3"
  pipeline_file "$1" "$2"
  held_in "$1"
}

# cold_run MEASURE RUN WORK: one full rebuild from an empty lake and state, its report kept, and
# the files it created counted: in a cold run every file under the lake and the state directory
# is new (temp files are renamed into place, not copied), so counting them after the run counts
# the files the run created and kept (the ledger's journal, created and deleted, is not counted).
cold_run() {
  local measure=$1 i=$2 work=$3
  discard "$work/lake" "$work/state"
  timed "$measure" "$i" "$BIN" --pipeline "$work/pipeline.toml" --progress never run
  keep_report "$work" "$measure-$i"
  printf '%s\t%s\t%s\t%s\n' "$measure" "$i" "$(find "$work/lake" "$work/state" -type f | wc -l)" \
    "$(find "$work/state/cache" -type f 2>/dev/null | wc -l)" >>"$FILES"
}

C1=$BENCH_DIR/corpus-1x
W1=$BENCH_DIR/work-1x
C10=$BENCH_DIR/corpus-10x
W10=$BENCH_DIR/work-10x
cold_setup "$C1" "$W1" "$RESPONDENTS_1X"
if [[ $RUNS_10X != 0 ]]; then cold_setup "$C10" "$W10" "$RESPONDENTS_10X"; fi
echo "== full rebuilds from an empty lake and state: $RUNS at 1x, $RUNS_10X at 10x, alternating"
for i in $(seq 1 $((RUNS > RUNS_10X ? RUNS : RUNS_10X))); do
  if ((i <= RUNS)); then cold_run cold "$i" "$W1"; fi
  if ((i <= RUNS_10X)); then cold_run cold-10x "$i" "$W10"; fi
done
if [[ $RUNS_10X != 0 ]]; then
  # The 10x lake and state take gigabytes; the corpus is kept for the next benchmark.
  discard "$W10/lake" "$W10/state"
fi
# The no-op run below needs the 1x lake of the last cold run: it is still in place.

echo "== no-op: nothing new ($RUNS runs)"
for i in $(seq 1 "$RUNS"); do
  timed noop "$i" "$BIN" --pipeline "$W1/pipeline.toml" --progress never run
done
grep -q "nothing was written" "$LOGS/noop-1.log" || die "the no-op run wrote something: see $LOGS/noop-1.log"

echo "== one new delivery ($RUNS runs; $(cat "$C1/held-back.txt"))"
# The state before each run: everything but the held-back delivery published (untimed).
held_out "$C1"
discard "$W1/lake" "$W1/state" "$W1/snapshot"
"$BIN" --pipeline "$W1/pipeline.toml" --progress never run >"$LOGS/snapshot.log" 2>&1 || die "the run without the held-back delivery failed: see $LOGS/snapshot.log"
mkdir -p "$W1/snapshot"
cp -a "$W1/lake" "$W1/state" "$W1/snapshot/"
for i in $(seq 1 "$RUNS"); do
  held_out "$C1"
  discard "$W1/lake" "$W1/state"
  cp -a "$W1/snapshot/lake" "$W1/snapshot/state" "$W1/"
  held_in "$C1"
  timed one-new "$i" "$BIN" --pipeline "$W1/pipeline.toml" --progress never run
done
rm -rf "$W1/snapshot"

echo "== reprocess --year $REPROCESS_YEAR ($RUNS runs)"
for i in $(seq 1 "$RUNS"); do
  timed reprocess "$i" "$BIN" --pipeline "$W1/pipeline.toml" --progress never reprocess --year "$REPROCESS_YEAR"
done

POLARS_VERSION=n/a
if [[ $PEER != 0 ]]; then
  POLARS_VERSION=$("$BENCH_VENV/bin/python" -c "import polars, fastexcel, pyreadstat; print(f'polars {polars.__version__}, fastexcel {fastexcel.__version__}, pyreadstat {pyreadstat.__version__}')")
  echo "== Polars peer job ($RUNS runs)"
  mkdir -p "$BENCH_DIR/peer"
  for i in $(seq 1 "$RUNS"); do
    rm -f "$BENCH_DIR/peer/respondents.parquet"
    timed polars "$i" "$BENCH_VENV/bin/python" bench/peer_polars.py "$C1/inbox" "$C1/population/population.csv" "$BENCH_DIR/peer/respondents.parquet"
  done
fi

rm -rf "$TRASH"

# ---- results ----

# respondents CORPUS: the number synth reported ("synth: 600 deliveries, 339635 respondents ...").
respondents() {
  awk '/^synth:/ {print $4}' "$1.synth.txt"
}

fmt_s() { awk -v x="$1" 'BEGIN {printf (x < 10 ? "%.2f s" : "%.1f s"), x}'; }
fmt_mib() { awk -v k="$1" 'BEGIN {printf "%.0f MiB", k / 1024}'; }
ok() { awk -v c="$1" 'BEGIN {print (c ? "yes" : "**no**")}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b) ? 1 : 0}'; }

COLD=$(median cold 3)
COLD_RSS=$(median cold 4)
NOOP=$(median noop 3)
NOOP_RSS=$(median noop 4)
NEW=$(median one-new 3)
NEW_RSS=$(median one-new 4)
REPRO=$(median reprocess 3)
REPRO_RSS=$(median reprocess 4)
GIB=1048576

stages() {
  python3 - "$1" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
stages = report.get("stage_seconds", {})
total = sum(stages.values()) or 1.0
print("| stage | seconds | share |")
print("| --- | ---: | ---: |")
for name, s in sorted(stages.items(), key=lambda kv: -kv[1]):
    print(f"| {name} | {s:.2f} | {100 * s / total:.0f}% |")
print(f"| *sum of stages* | {total:.2f} | |")
EOF
}

{
  echo "### Results: $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' + uncommitted changes')"
  echo
  if [[ $RUNS == 1 ]]; then
    echo "**A single run** of each measure (10x: $RUNS_10X), not a median: preliminary. Wall time and peak resident memory (\`/usr/bin/time -v\`)."
  else
    echo "Medians of $RUNS runs (10x: $RUNS_10X) of wall time and peak resident memory (\`/usr/bin/time -v\`)."
  fi
  echo "Corpus: $(respondents "$C1") respondents in $(find "$C1/inbox" -type f | wc -l) deliveries ($(find "$C1/inbox" -type f | sed 's/.*\.//' | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep = ", "}'); $(du -sh "$C1/inbox" | cut -f1)B on disk)."
  echo
  echo "| measure | wall (median) | peak RSS (median) | target | met |"
  echo "| --- | ---: | ---: | --- | --- |"
  if [[ $PEER != 0 ]]; then
    POLARS=$(median polars 3)
    POLARS_RSS=$(median polars 4)
    RATIO=$(awk -v p="$POLARS" -v c="$COLD" 'BEGIN {printf "%.2f", p / c}')
    echo "| full rebuild, cold | $(fmt_s "$COLD") | $(fmt_mib "$COLD_RSS") | ≤ 1/3 of Polars ($(fmt_s "$(awk -v p="$POLARS" 'BEGIN {print p / 3}')")), ≤ 1 GiB | $(ok "$(le "$COLD" "$(awk -v p="$POLARS" 'BEGIN {print p / 3}')")") / $(ok "$(le "$COLD_RSS" $GIB)") |"
  else
    echo "| full rebuild, cold | $(fmt_s "$COLD") | $(fmt_mib "$COLD_RSS") | ≤ 1/3 of Polars (not run), ≤ 1 GiB | – / $(ok "$(le "$COLD_RSS" $GIB)") |"
  fi
  echo "| no-op nightly run | $(fmt_s "$NOOP") | $(fmt_mib "$NOOP_RSS") | ≤ 0.5 s | $(ok "$(le "$NOOP" 0.5)") |"
  echo "| one new delivery | $(fmt_s "$NEW") | $(fmt_mib "$NEW_RSS") | ≤ 1.5 s | $(ok "$(le "$NEW" 1.5)") |"
  echo "| reprocess --year $REPROCESS_YEAR | $(fmt_s "$REPRO") | $(fmt_mib "$REPRO_RSS") | ≤ 2 s | $(ok "$(le "$REPRO" 2)") |"
  if [[ $RUNS_10X != 0 ]]; then
    COLD10=$(median cold-10x 3)
    COLD10_RSS=$(median cold-10x 4)
    RATIO10=$(pair_ratio)
    echo "| full rebuild, cold, 10x rows ($(respondents "$C10") respondents) | $(fmt_s "$COLD10") (${RATIO10}x) | $(fmt_mib "$COLD10_RSS") | ≤ 10.5x the 1x time, ≤ 2 GiB | $(ok "$(le "$RATIO10" 10.5)") / $(ok "$(le "$COLD10_RSS" $((2 * GIB)))") |"
  fi
  if [[ $PEER != 0 ]]; then
    echo "| Polars peer job (reference) | $(fmt_s "$POLARS") | $(fmt_mib "$POLARS_RSS") | | |"
    echo
    echo "Polars / burgerpeiling (cold): **${RATIO}x** (target: at least 3x)."
  fi
  echo
  if [[ $RUNS_10X != 0 ]]; then
    echo "10x / 1x: the median over the $((RUNS < RUNS_10X ? RUNS : RUNS_10X)) alternating pairs (1x run i, then 10x run i) of the 10x time over the 1x time."
    echo
  fi
  echo "Files a cold run creates (median; lake and state directory after the run): $(median_files cold 3) at 1x, of them $(median_files cold 4) in the cache$([[ $RUNS_10X != 0 ]] && echo "; $(median_files cold-10x 3) at 10x")."
  echo
  echo "Per stage, from the run report (\`stage_seconds\`) of the median cold run:"
  echo
  stages "$BENCH_DIR/reports/cold-$(median_run cold).json"
  if [[ $RUNS_10X != 0 ]]; then
    echo
    echo "Per stage, 10x rows:"
    echo
    stages "$BENCH_DIR/reports/cold-10x-$(median_run cold-10x).json"
  fi
  echo
  echo "Every run (seconds, peak RSS in KiB):"
  echo
  echo "| measure | runs |"
  echo "| --- | --- |"
  awk -F'\t' 'NR > 1 {r[$1] = r[$1] (r[$1] ? ", " : "") $3 " s / " $4} NR > 1 && !($1 in seen) {seen[$1] = 1; order[++n] = $1}
    END {for (i = 1; i <= n; i++) print "| " order[i] " | " r[order[i]] " |"}' "$RAW"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr), $(rustc --version | cut -d' ' -f1-2), $POLARS_VERSION; load average before the benchmark: $LOAD_BEFORE."
} >"$RESULTS"

echo
cat "$RESULTS"
echo
echo "(written to $RESULTS; raw numbers in $RAW, logs in $LOGS)"
