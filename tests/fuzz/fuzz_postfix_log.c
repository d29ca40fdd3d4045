/*
 * fuzz_postfix_log.c -- Postfix's mail log as the log follower reads it:
 * the input is split at newlines and each line goes through
 * postfix_log_parse, each in a buffer of exactly its length: the follower
 * passes a line that is not NUL-terminated (a newline follows it).
 */
#include "fuzz.h"

#include "postfix_log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *end = text + size;
    pfl_line_t line;

    while (text < end) {
        const char *nl = memchr(text, '\n', (size_t)(end - text));
        size_t len = nl ? (size_t)(nl - text) : (size_t)(end - text);
        /* its own buffer, no NUL: ASan sees a read past the line */
        char *copy = malloc(len ? len : 1);
        if (copy == NULL)
            return 0;
        memcpy(copy, text, len);
        if (postfix_log_parse(copy, len, &line) != PFL_NONE) {
            (void)pfl_status_name(line.status);
        }
        free(copy);
        text += len + (nl != NULL);
    }
    return 0;
}
