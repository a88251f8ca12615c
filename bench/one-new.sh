#!/usr/bin/env bash
# Compares builds on the nightly scenario "one new delivery" (bench/run.sh's measure of the same
# name): for each binary, a cold run on the benchmark corpus without the held-back delivery is
# kept as a snapshot of lake and state (each binary its own: state formats can differ between
# builds); then, for N rounds, each binary in turn gets its snapshot back with the delivery in
# the inbox and runs `run`, timed by GNU time. Prints per binary the median wall time and CPU
# time (user + sys) and their range. The binaries alternate, so a machine that drifts in speed
# hits them alike; CPU time is the steadier measure on a shared machine.
#
# Usage: bench/one-new.sh N BINARY...   (run bench/run.sh once first: it makes the corpus)
# Environment: BENCH_DIR (default target/bench-e2e), WORK (default $BENCH_DIR/one-new).
# A binary runs with this checkout as its working directory (its config/); a binary of another
# checkout needs that checkout's config: pass a wrapper script that changes directory first.
# Not to be run while bench/run.sh runs: both move the held-back delivery in and out.
set -euo pipefail
cd "$(dirname "$0")/.."
die() {
  echo "bench/one-new.sh: $*" >&2
  exit 1
}
(($# >= 2)) || die "usage: bench/one-new.sh N BINARY..."
N=$1
shift
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive whole number, not '$N'"
BENCH_DIR=$(cd "${BENCH_DIR:-target/bench-e2e}" && pwd)
CORPUS=$BENCH_DIR/corpus-1x
[[ -f $CORPUS/held-back.txt && -f $BENCH_DIR/work-1x/pipeline.toml ]] \
  || die "no benchmark corpus in $CORPUS: run bench/run.sh first"
HELD=$(cat "$CORPUS/held-back.txt")
WORK=${WORK:-$BENCH_DIR/one-new}
rm -rf "$WORK"
mkdir -p "$WORK/held"
TIMES=$WORK/times.tsv
: >"$TIMES"

# The delivery goes back into the inbox however the script ends.
held_out() { if [[ -f $CORPUS/inbox/$HELD ]]; then mv "$CORPUS/inbox/$HELD" "$WORK/held/"; fi; }
held_in() { if [[ -f $WORK/held/$(basename "$HELD") ]]; then mv "$WORK/held/$(basename "$HELD")" "$CORPUS/inbox/$HELD"; fi; }
trap held_in EXIT

# pipeline NAME: bench/run.sh's pipeline file of the corpus, with this binary's own lake and
# state directories.
pipeline() {
  sed -e "s#^lake = .*#lake = \"$WORK/$1/lake\"#" -e "s#^state = .*#state = \"$WORK/$1/state\"#" \
    "$BENCH_DIR/work-1x/pipeline.toml" >"$WORK/$1.toml"
}

NAMES=()
n=0
for bin in "$@"; do
  [[ -x $bin ]] || die "$bin is not an executable"
  n=$((n + 1))
  name="$n-$(basename "$bin")"
  NAMES+=("$name")
  pipeline "$name"
  held_out
  "$bin" --pipeline "$WORK/$name.toml" --progress never run >"$WORK/$name.setup.log" 2>&1 \
    || die "the cold run of $bin failed: see $WORK/$name.setup.log"
  mkdir -p "$WORK/$name.snapshot"
  cp -a "$WORK/$name/lake" "$WORK/$name/state" "$WORK/$name.snapshot/"
done

for round in $(seq 1 "$N"); do
  n=0
  for bin in "$@"; do
    name=${NAMES[$n]}
    n=$((n + 1))
    held_out
    # Moved aside, not deleted: deleting thousands of files right before a run slows the
    # file creation of the run itself on ext4 (BENCHMARKS.md, "Summary, 2026-11-27").
    mkdir -p "$WORK/trash/$round-$name"
    mv "$WORK/$name/lake" "$WORK/$name/state" "$WORK/trash/$round-$name/"
    cp -a "$WORK/$name.snapshot/lake" "$WORK/$name.snapshot/state" "$WORK/$name/"
    held_in
    sync
    /usr/bin/time -f "$name\t%e\t%U\t%S\t%M" -a -o "$TIMES" \
      "$bin" --pipeline "$WORK/$name.toml" --progress never run >"$WORK/$name.run.log" 2>&1 \
      || die "a one-new run of $bin failed: see $WORK/$name.run.log"
  done
done
rm -rf "$WORK/trash"

python3 - "$TIMES" "$N" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, wall, user, system, rss = line.rstrip("\n").split("\t")
    runs[name].append((float(wall), float(user) + float(system), int(rss) / 1024))
print(f"one new delivery, {sys.argv[2]} alternating runs per binary (medians; range in brackets)")
for name, r in runs.items():
    wall, cpu, rss = (sorted(x[i] for x in r) for i in range(3))
    print(f"  {name}: wall {statistics.median(wall):.3f} s [{wall[0]:.3f}-{wall[-1]:.3f}]"
          f"  cpu {statistics.median(cpu):.3f} s [{cpu[0]:.3f}-{cpu[-1]:.3f}]"
          f"  peak {statistics.median(rss):.0f} MiB")
EOF
