/*
 * fuzz.h: what every libFuzzer harness of fuzz/ shares.
 *
 * Each harness calls one parser of csrc/ on the fuzzer's bytes (exactly `size`
 * of them, in a buffer of that size, so AddressSanitizer sees any read past the
 * end) and checks the parser's documented contract; a broken contract aborts,
 * and libFuzzer saves the input as a crash.
 */
#ifndef TRAY_FUZZ_H
#define TRAY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
