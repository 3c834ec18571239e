#!/usr/bin/env bash
# levy benchmark: release build, deterministic data, levy and the Python peer on the same files, same run.
# Prints rows/s (or files/s), MB/s, wall and CPU time and peak RSS per workload, levy's time per stage
# (from `--stats`), and levy's speed as a ratio to the peer. Checks that levy's totals equal the peer's:
# a fast wrong answer fails the run.
#   bash Benchmarks/run.sh                    # 1M-row CSV and XML, 10M-row CSV, 20,000 small files
#   ROWS=200000 BIG_ROWS=0 SMALL_FILES=2000 bash Benchmarks/run.sh   # a quicker pass
#   SETTLE=400 bash Benchmarks/run.sh         # wait 400 s before the small files (many files deleted just before)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
BIG_ROWS=${BIG_ROWS:-10000000}      # 0 skips the 10M-row workload (637 MB of data)
SMALL_FILES=${SMALL_FILES:-20000}   # 0 skips the small-files workload
DATA=Benchmarks/data
EMP=91370100MA3C5X123P
ASOF=2026-11-02T09:00:00
mkdir -p "$DATA"
swift build -c release >/dev/null
B=.build/release/levy

# name, units (rows|files), count, bytes, command... — prints one line, and levy's stages when it printed them.
measure() {
  local name=$1 units=$2 count=$3 bytes=$4; shift 4
  /usr/bin/time -o "$DATA/.time" -f "%e %U %S %M" "$@" >/dev/null 2>"$DATA/.stderr"
  read -r wall user sys rss <<<"$(tail -1 "$DATA/.time")"
  python3 - "$name" "$units" "$count" "$bytes" "$wall" "$user" "$sys" "$rss" <<'PY'
import sys
name, units, count, size, wall, user, sys_, rss = sys.argv[1:]
w = float(wall)
print(f"{name:<30} {int(count)/w:>12,.0f} {units}/s {int(size)/1e6/w:>8.1f} MB/s  wall {w:7.2f} s  "
      f"cpu {float(user)+float(sys_):7.2f} s  peak RSS {int(rss)/1024:7.1f} MB")
PY
  if grep -q "^levy stages:" "$DATA/.stderr"; then
    grep "^levy stages:" "$DATA/.stderr" | sed 's/^levy stages:/    stages (s):/; s/_s=/=/g'
  fi
  echo "$wall" > "$DATA/.last"
}

fresh_root() {  # dir, file
  rm -rf "$1" && mkdir -p "$1/Inbox/declarations/$EMP" && cp -r Rules "$1/"
  sed -i 's/max_file_bytes: [0-9]*/max_file_bytes: 4294967296/' "$1/Rules/levy.yaml"  # the 10M-row file is 637 MB
  cp "$2" "$1/Inbox/declarations/$EMP/"
}

receipt_total() { python3 -c "import json,glob,sys;print(sum(json.load(open(f))['total_fen'] for f in glob.glob(sys.argv[1]+'/Outbox/receipts/*/*.json')))" "$1"; }

size() { stat -c %s "$1"; }

echo "levy benchmark — $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"

# 1. One large declaration, CSV and XML.
[ -f "$DATA/bench-$ROWS.csv" ] || python3 Benchmarks/generate.py --rows "$ROWS" --format csv --out "$DATA/bench-$ROWS.csv"
[ -f "$DATA/bench-$ROWS.xml" ] || python3 Benchmarks/generate.py --rows "$ROWS" --format xml --out "$DATA/bench-$ROWS.xml"
CSV="$DATA/bench-$ROWS.csv"; XML="$DATA/bench-$ROWS.xml"
measure "levy check (CSV)" rows "$ROWS" "$(size "$CSV")" $B check "$CSV" --root . --employer $EMP --as-of $ASOF --stats
fresh_root "$DATA/root" "$CSV"
measure "levy run (CSV)" rows "$ROWS" "$(size "$CSV")" $B run --root "$DATA/root" --as-of $ASOF --stats
levy_csv=$(cat "$DATA/.last"); levy_total=$(receipt_total "$DATA/root")
fresh_root "$DATA/root" "$XML"
measure "levy run (XML)" rows "$ROWS" "$(size "$XML")" $B run --root "$DATA/root" --as-of $ASOF --stats
xml_total=$(receipt_total "$DATA/root")
measure "python peer (CSV)" rows "$ROWS" "$(size "$CSV")" python3 Benchmarks/peers/levy_peer.py "$CSV"
peer=$(cat "$DATA/.last")
peer_total=$(python3 Benchmarks/peers/levy_peer.py "$CSV" | sed 's/.*total_fen=//')
echo "totals (fen): levy CSV $levy_total, levy XML $xml_total, peer $peer_total"
[ "$levy_total" = "$peer_total" ] && [ "$xml_total" = "$peer_total" ] || { echo "MISMATCH: levy and the peer disagree"; exit 1; }
python3 -c "print(f'levy run (CSV) vs python peer: {$peer/$levy_csv:.1f}x')"

# 2. Ten million rows: memory must stay flat.
if [ "$BIG_ROWS" -gt 0 ]; then
  BIG="$DATA/bench-$BIG_ROWS.csv"
  [ -f "$BIG" ] || python3 Benchmarks/generate.py --rows "$BIG_ROWS" --format csv --out "$BIG"
  fresh_root "$DATA/root" "$BIG"
  measure "levy check (CSV, ${BIG_ROWS} rows)" rows "$BIG_ROWS" "$(size "$BIG")" $B check "$BIG" --root "$DATA/root" --employer $EMP --as-of $ASOF --stats
  measure "levy run (CSV, ${BIG_ROWS} rows)" rows "$BIG_ROWS" "$(size "$BIG")" $B run --root "$DATA/root" --as-of $ASOF --stats
  echo "totals (fen): levy $(receipt_total "$DATA/root")"
fi

# 3. A day of small employers: every file ends with a durable receipt and an archived input.
if [ "$SMALL_FILES" -gt 0 ]; then
  SMALL="$DATA/small-$SMALL_FILES"
  [ -d "$SMALL" ] || python3 Benchmarks/generate.py --files "$SMALL_FILES" --rows 50 --out-root "$SMALL"
  bytes=$(du -sb "$SMALL/Inbox" | cut -f1)
  # Both copies are made before either run, and deleted only after both: on ext4 without a journal
  # the inode allocator passes over inodes deleted in the last 60 s (360 s while their block is
  # dirty), one lookup each, so deleting 100,000 files just before a run bills that run (and the
  # peer's, after levy's outputs) several seconds that levy itself never causes. docs/PERFORMANCE.md.
  rm -rf "$DATA/small-work" "$DATA/small-peer"
  cp -a "$SMALL" "$DATA/small-work" && cp -a "$SMALL" "$DATA/small-peer" && sync
  sleep "${SETTLE:-0}"
  measure "levy run (${SMALL_FILES} files)" files "$SMALL_FILES" "$bytes" $B run --root "$DATA/small-work" --as-of $ASOF --stats
  levy_small=$(cat "$DATA/.last"); levy_small_total=$(receipt_total "$DATA/small-work")
  left=$(find "$DATA/small-work/Inbox/declarations" -type f | wc -l)
  measure "python peer (${SMALL_FILES} files)" files "$SMALL_FILES" "$bytes" python3 Benchmarks/peers/levy_peer.py --root "$DATA/small-peer"
  peer_small=$(cat "$DATA/.last")
  peer_small_total=$(python3 -c "import json,glob,sys;print(sum(json.load(open(f))['total_fen'] for f in glob.glob(sys.argv[1]+'/Outbox/receipts/*/*.json')))" "$DATA/small-peer")
  echo "totals (fen): levy $levy_small_total, peer $peer_small_total; files left in levy's inbox: $left"
  [ "$levy_small_total" = "$peer_small_total" ] && [ "$left" = 0 ] || { echo "MISMATCH on the small files"; exit 1; }
  python3 -c "print(f'levy run (small files) vs python peer: {$peer_small/$levy_small:.1f}x')"
  rm -rf "$DATA/small-work" "$DATA/small-peer"
fi
