#!/usr/bin/env bash
# Two levy binaries on the same workload, alternating, N rounds: min and median of each. On this
# shared machine a change below ~10% is only visible this way (the load drifts between batches).
#   cp .build/release/levy /tmp/levy-a   # before the change
#   swift build -c release && cp .build/release/levy /tmp/levy-b
#   bash Benchmarks/ab.sh /tmp/levy-a /tmp/levy-b check 13   # levy check, 1M-row CSV
#   bash Benchmarks/ab.sh /tmp/levy-a /tmp/levy-b run 7      # levy run, 1M-row CSV, fresh root each time
#   bash Benchmarks/ab.sh /tmp/levy-a /tmp/levy-b xml 7      # levy run, 1M-row XML (xml-check: levy check)
#   SETTLE=400 bash Benchmarks/ab.sh /tmp/levy-a /tmp/levy-b small 5  # 2,000 small files on disk, after
#                                                                      # the kernel forgets recent deletions
#   bash Benchmarks/ab.sh /tmp/levy-a /tmp/levy-b small-tmpfs 7  # the same in /dev/shm
# Run `bash Benchmarks/run.sh` once first (it generates the data), and `repeat.sh small 1` for the 2,000 files.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; WHAT=${3:-check}; N=${4:-9}
EMP=91370100MA3C5X123P; ASOF=2026-11-02T09:00:00; CSV=$PWD/Benchmarks/data/bench-1000000.csv
XML=$PWD/Benchmarks/data/bench-1000000.xml
SMALL=${SMALL:-$PWD/Benchmarks/data/s2k}  # SMALL=…/small-20000 for the day of 20,000 files
work=$(mktemp -d); trap 'rm -rf "$work" /dev/shm/levy-ab' EXIT
n=0
# Wall time to the millisecond (`time`'s %e has 10 ms steps: 4% of a 0.25 s check); user and system from `time`.
timed() {
  local side=$1; shift
  local t0 t1 cpu
  t0=$(date +%s%N)
  cpu=$(/usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1)
  t1=$(date +%s%N)
  echo "$side $(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 1e9 }') $cpu"
}
if [ "$WHAT" = small ]; then
  for i in $(seq $((2 * N))); do cp -a "$SMALL" "$work/s$i"; done; sync; sleep "${SETTLE:-0}"
fi
for _ in $(seq "$N"); do
  for side in A B; do
    bin=$A; [ "$side" = B ] && bin=$B
    case $WHAT in
      check) timed "$side" "$bin" check "$CSV" --root . --employer $EMP --as-of $ASOF ;;
      run|xml) file=$CSV; [ "$WHAT" = xml ] && file=$XML
           rm -rf "$work/r" && mkdir -p "$work/r/Inbox/declarations/$EMP" && cp -r Rules "$work/r/" && cp "$file" "$work/r/Inbox/declarations/$EMP/"
           timed "$side" "$bin" run --root "$work/r" --as-of $ASOF ;;
      xml-check) timed "$side" "$bin" check "$XML" --root . --employer $EMP --as-of $ASOF ;;
      small) n=$((n + 1))  # copies made before the first run, deleted after the last (see run.sh on deleting)
             timed "$side" "$bin" run --root "$work/s$n" --as-of $ASOF ;;
      small-tmpfs) rm -rf /dev/shm/levy-ab && cp -a "$SMALL" /dev/shm/levy-ab
                   timed "$side" "$bin" run --root /dev/shm/levy-ab --as-of $ASOF ;;
      *) echo "usage: ab.sh BIN_A BIN_B check|run|xml|xml-check|small|small-tmpfs [N]"; exit 2 ;;
    esac
  done
done | python3 -c "
import sys, statistics as st
d = {}
for line in sys.stdin:
    side, wall, user, system = line.split()
    d.setdefault(side, []).append((float(wall), float(user), float(system)))
for side, v in sorted(d.items()):
    col = lambda i: [x[i] for x in v]
    print(f'{side}: wall min {min(col(0)):.3f} median {st.median(col(0)):.3f}   user median {st.median(col(1)):.3f}   sys median {st.median(col(2)):.3f}   ({len(v)} runs)')
"
