#!/usr/bin/env bash
# levy benchmark: release build, deterministic data, levy and the Python peer on the same files.
# Prints rows/s, MB/s, wall and CPU time and peak RSS per workload. Checks that levy's totals equal the peer's.
#   bash Benchmarks/run.sh            # 1M-row CSV and XML
#   ROWS=200000 bash Benchmarks/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
DATA=Benchmarks/data
EMP=91370100MA3C5X123P
mkdir -p "$DATA"
swift build -c release >/dev/null
B=.build/release/levy
[ -f "$DATA/bench-$ROWS.csv" ] || python3 Benchmarks/generate.py --rows "$ROWS" --format csv --out "$DATA/bench-$ROWS.csv"
[ -f "$DATA/bench-$ROWS.xml" ] || python3 Benchmarks/generate.py --rows "$ROWS" --format xml --out "$DATA/bench-$ROWS.xml"

measure() {  # name, file, command...
  local name=$1 file=$2; shift 2
  /usr/bin/time -o "$DATA/.time" -f "%e %U %S %M" "$@" >/dev/null 2>&1
  local out; out=$(tail -1 "$DATA/.time")
  read -r wall user sys rss <<<"$out"
  python3 - "$name" "$file" "$ROWS" "$wall" "$user" "$sys" "$rss" <<'PY'
import os, sys
name, f, rows, wall, user, sys_, rss = sys.argv[1:]
mb = os.path.getsize(f) / 1e6
w = float(wall)
print(f"{name:<28} {int(rows)/w:>12,.0f} rows/s {mb/w:>8.1f} MB/s  wall {w:6.2f} s  cpu {float(user)+float(sys_):6.2f} s  peak RSS {int(rss)/1024:7.1f} MB")
PY
  echo "$wall" > "$DATA/.last"
}

fresh_root() {
  rm -rf "$DATA/root" && mkdir -p "$DATA/root/Inbox/declarations/$EMP" && cp -r Rules "$DATA/root/"
  cp "$1" "$DATA/root/Inbox/declarations/$EMP/"
}

echo "levy benchmark — $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $ROWS rows"
measure "levy check (CSV)" "$DATA/bench-$ROWS.csv" $B check "$DATA/bench-$ROWS.csv" --root . --employer $EMP --as-of 2026-11-02T09:00:00
fresh_root "$DATA/bench-$ROWS.csv"
measure "levy run (CSV)" "$DATA/bench-$ROWS.csv" $B run --root "$DATA/root" --as-of 2026-11-02T09:00:00
levy_csv=$(cat "$DATA/.last")
levy_total=$(python3 -c "import json,glob;print(json.load(open(glob.glob('$DATA/root/Outbox/receipts/*/*.json')[0]))['total_fen'])")
fresh_root "$DATA/bench-$ROWS.xml"
measure "levy run (XML)" "$DATA/bench-$ROWS.xml" $B run --root "$DATA/root" --as-of 2026-11-02T09:00:00
xml_total=$(python3 -c "import json,glob;print(json.load(open(glob.glob('$DATA/root/Outbox/receipts/*/*.json')[0]))['total_fen'])")
measure "python peer (CSV)" "$DATA/bench-$ROWS.csv" python3 Benchmarks/peers/levy_peer.py "$DATA/bench-$ROWS.csv"
peer=$(cat "$DATA/.last")
peer_total=$(python3 Benchmarks/peers/levy_peer.py "$DATA/bench-$ROWS.csv" | sed 's/.*total_fen=//')
echo "totals (fen): levy CSV $levy_total, levy XML $xml_total, peer $peer_total"
[ "$levy_total" = "$peer_total" ] || { echo "MISMATCH: levy and the peer disagree"; exit 1; }
python3 -c "print(f'levy run (CSV) vs python peer: {$peer/$levy_csv:.1f}x')"
