#ifndef LEVY_CFUZZERDRIVER_H
#define LEVY_CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry for programs that have their own main (compiler-rt, LLVM >= 11). Only linked,
/// and only called, when levy-fuzz is built with -sanitize=fuzzer (Tests/Fuzz/run.sh).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
