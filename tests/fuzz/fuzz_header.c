/*
 * fuzz_header.c -- header values as a message carries them: RFC 2047
 * decoding to bounded UTF-8 (header_decode) and the addresses of an
 * address-list header (header_addresses, GMime's parser behind
 * gmime_guard), with a list that already holds entries.
 */
#include "fuzz.h"

#include "header.h"

#define FUZZ_LIST_MAX 50

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *list[FUZZ_LIST_MAX];
    size_t count = 0;

    if (!ready) {
        header_init();
        ready = 1;
    }
    char *raw = fuzz_cstring(data, size);
    if (raw == NULL)
        return 0;
    free(header_decode(raw, 998));
    free(header_decode(raw, 16));
    list[count++] = strdup("first@example.test");
    if (list[0] == NULL)
        count = 0;
    header_addresses(raw, list, &count, FUZZ_LIST_MAX);
    header_addresses(raw, list, &count, FUZZ_LIST_MAX); /* all duplicates now */
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(raw);
    return 0;
}
