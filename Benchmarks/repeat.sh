#!/usr/bin/env bash
# One workload N times with the release build, min and median of wall time, user CPU and the main
# stage: on this shared machine a single run can be 20-40% off, so compare changes with this.
#   bash Benchmarks/repeat.sh check 9        # levy check, 1M-row CSV
#   bash Benchmarks/repeat.sh run 5          # levy run, 1M-row CSV, fresh root each time
#   bash Benchmarks/repeat.sh xml 5          # levy run, 1M-row XML (xml-check: levy check)
#   bash Benchmarks/repeat.sh small 3        # levy run, the 2,000-file subset, on disk (SETTLE=400: wait
#                                            # after copying, when many files were deleted in the last minutes)
#   bash Benchmarks/repeat.sh small-tmpfs 3  # the same in /dev/shm: no ext4 inode-allocator noise
#                                            # (fsync and syncfs cost nothing there: user space only)
# Run `bash Benchmarks/run.sh` once first (it builds and generates the data).
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-check}; N=${2:-5}
B=$PWD/.build/release/levy; DATA=$PWD/Benchmarks/data; EMP=91370100MA3C5X123P; ASOF=2026-11-02T09:00:00
CSV=$DATA/bench-1000000.csv
XML=$DATA/bench-1000000.xml
SMALL=$DATA/s2k
if [ ! -d "$SMALL" ] && [ -d "$DATA/small-20000" ]; then  # the first 2,000 employers of the 20,000-file day
  mkdir -p "$SMALL/Inbox/declarations" && cp -r "$DATA/small-20000/Rules" "$SMALL/"
  ls "$DATA/small-20000/Inbox/declarations" | head -2000 | while read -r e; do cp -r "$DATA/small-20000/Inbox/declarations/$e" "$SMALL/Inbox/declarations/"; done
fi
work=$(mktemp -d); trap 'rm -rf "$work" /dev/shm/levy-repeat' EXIT
one() {
  case $WHAT in
    check) /usr/bin/time -f "T %e %U" "$B" check "$CSV" --root . --employer $EMP --as-of $ASOF --stats ;;
    run|xml) file=$CSV; [ "$WHAT" = xml ] && file=$XML
         rm -rf "$work/r" && mkdir -p "$work/r/Inbox/declarations/$EMP" && cp -r Rules "$work/r/" && cp "$file" "$work/r/Inbox/declarations/$EMP/"
         /usr/bin/time -f "T %e %U" "$B" run --root "$work/r" --as-of $ASOF --stats ;;
    xml-check) /usr/bin/time -f "T %e %U" "$B" check "$XML" --root . --employer $EMP --as-of $ASOF --stats ;;
    small) # copies made before the first run, deleted after the last (see run.sh on deleting)
           /usr/bin/time -f "T %e %U" "$B" run --root "$work/s$1" --as-of $ASOF --stats ;;
    small-tmpfs) rm -rf /dev/shm/levy-repeat && cp -a "$SMALL" /dev/shm/levy-repeat
                 /usr/bin/time -f "T %e %U" "$B" run --root /dev/shm/levy-repeat --as-of $ASOF --stats ;;
    *) echo "usage: repeat.sh check|run|xml|xml-check|small|small-tmpfs [N]"; exit 2 ;;
  esac
}
if [ "$WHAT" = small ]; then
  for i in $(seq "$N"); do cp -a "$SMALL" "$work/s$i"; done; sync; sleep "${SETTLE:-0}"
fi
for i in $(seq "$N"); do one "$i" 2>&1 >/dev/null | grep -E "^T |^levy stages" | tr '\n' ' '; echo; done | python3 -c "
import re, statistics as st, sys
rows = [l for l in sys.stdin if 'T ' in l]
def col(pattern):
    return [float(m[1]) for l in rows if (m := re.search(pattern, l))]
for name, pattern in [('wall s', r'T ([0-9.]+)'), ('user s', r'T [0-9.]+ ([0-9.]+)'), ('parse_check s', r'parse_check_s=([0-9.]+)'),
                      ('ledger s', r'ledger_s=([0-9.]+)'), ('outputs s', r'outputs_s=([0-9.]+)')]:
    v = col(pattern)
    if v and max(v) > 0: print(f'{name:<14} min {min(v):7.3f}  median {st.median(v):7.3f}  max {max(v):7.3f}  ({len(v)} runs)')
"
