#!/usr/bin/env bash
# Coverage-guided fuzzing of levy's parsers with libFuzzer (swiftc -sanitize=fuzzer).
#   bash Tests/Fuzz/run.sh              # 20 s per target
#   bash Tests/Fuzz/run.sh 600 csv      # a longer run of one target
#   FUZZ_RUNS=20000 bash Tests/Fuzz/run.sh   # what CI runs: a fixed number of inputs from seed 1,
#                                            # so a CI result can be reproduced exactly
# Targets: csv (CSV declaration through the whole check), xml (libxml2 reader + XSD), pain002 (bank return),
# camt054 (bank notification, worked out against the ledger without applying it).
# The committed corpus (Tests/Fuzz/corpus/TARGET) seeds each run; new inputs go to .build-fuzz/corpus/TARGET.
# A crash leaves .build-fuzz/crash-TARGET-*; replay it with: .build/debug/levy-fuzz TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-20}
shift || true
TARGETS=${*:-csv xml pain002 camt054}
# -DLIBFUZZER swaps the corpus replayer's main for libFuzzer's driver (Sources/LevyFuzz).
FLAGS=(--scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DLIBFUZZER)
swift build "${FLAGS[@]}" --product levy-fuzz 2>&1 | tail -1
BIN=$(swift build "${FLAGS[@]}" --show-bin-path)/levy-fuzz
# Let libFuzzer's own handler see a Swift trap, so that it writes the crashing input.
export SWIFT_BACKTRACE=enable=no
if [ -n "${FUZZ_RUNS:-}" ]; then LIMIT=(-runs="$FUZZ_RUNS" -seed=1); WHAT="$FUZZ_RUNS runs from seed 1"
else LIMIT=(-max_total_time="$SECONDS_PER_TARGET"); WHAT="${SECONDS_PER_TARGET}s"; fi
status=0
for t in $TARGETS; do
  mkdir -p ".build-fuzz/corpus/$t"
  log=".build-fuzz/fuzz-$t.log"
  if LEVY_FUZZ_TARGET=$t "$BIN" ".build-fuzz/corpus/$t" "Tests/Fuzz/corpus/$t" "${LIMIT[@]}" \
      -rss_limit_mb=512 -max_len=65536 -timeout=20 -artifact_prefix=".build-fuzz/crash-$t-" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result=CRASH; status=1; grep -a -m3 "Fatal error\|ERROR: libFuzzer\|Test unit written" "$log" || tail -20 "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz $t: $result, ${execs:-?} executions ($WHAT), $cov, $(ls ".build-fuzz/corpus/$t" | wc -l) new inputs in .build-fuzz/corpus/$t"
done
exit $status
