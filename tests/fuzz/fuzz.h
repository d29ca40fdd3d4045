/*
 * fuzz.h -- what every libFuzzer target in tests/fuzz shares.
 *
 * Public: fuzz_cstring, LLVMFuzzerTestOneInput's prototype.
 * Each target is one file, fuzz_NAME.c, defining LLVMFuzzerTestOneInput for
 * one parser of outside input; tests/fuzz/fuzz.mk builds them with clang
 * (-fsanitize=fuzzer,address,undefined) over the library compiled again
 * with the same sanitizers.  A target must free what it allocates, so a
 * leak in the parser is a leak report, and must make no network or file
 * access, so millions of runs stay fast and harmless.
 */
#ifndef POSTINBOX_FUZZ_H
#define POSTINBOX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd NUL-terminated copy of data[0..size) (ASan then sees a read
 * one byte past it), or NULL if out of memory. */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s != NULL) {
        if (size)
            memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
