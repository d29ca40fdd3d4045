/*
 * gmime_guard.c -- defusing the address-list values that make GMime leak.
 * See gmime_guard.h.
 */
#include "gmime_guard.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
guard_lwsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether some ']' [ \t\r\n]* '(' of v[0..len) opens a comment that is
 * still open at the end (a NUL ends the value, as it ends GMime's scan).
 * One pass from the first such '(': the depth of parentheses (a backslash
 * escapes the next byte, as in GMime's skip_comment) never drops below 0,
 * so a later comment left open still ends the pass above 0. */
static int
guard_unsafe(const char *v, size_t len)
{
    size_t i = 0, depth = 0;
    for (; i < len && v[i] != '\0'; i++) {
        if (v[i] != ']')
            continue;
        size_t j = i + 1;
        while (j < len && guard_lwsp(v[j]))
            j++;
        if (j < len && v[j] == '(') {
            i = j;
            break;
        }
    }
    if (i >= len || v[i] != '(')
        return 0;
    for (; i < len && v[i] != '\0'; i++) {
        if (v[i] == '\\' && i + 1 < len)
            i++;
        else if (v[i] == '(')
            depth++;
        else if (v[i] == ')' && depth > 0)
            depth--;
    }
    return depth > 0;
}

int
gmime_guard_value(char *value, size_t len)
{
    if (!guard_unsafe(value, len))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (value[i] == '(' || value[i] == ')')
            value[i] = ' ';
    return 1;
}

/* The length of the address-list header name and its colon at line[0..len)
 * ("To:", "reply-to :", ...), 0 if the line starts no such header. */
static size_t
guard_address_header(const char *line, size_t len)
{
    static const char *const names[] = { "from", "to", "cc", "bcc", "sender", "reply-to" };
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        size_t n = strlen(names[k]);
        if (len <= n || strncasecmp(line, names[k], n) != 0)
            continue;
        while (n < len && (line[n] == ' ' || line[n] == '\t'))
            n++;
        if (n < len && line[n] == ':')
            return n + 1;
    }
    return 0;
}

int
gmime_guard_message(const char *raw, size_t len, char **copy)
{
    size_t line = 0;
    *copy = NULL;
    while (line < len) {
        const char *nl = memchr(raw + line, '\n', len - line);
        size_t next = nl ? (size_t)(nl - raw) + 1 : len;
        size_t name = guard_address_header(raw + line, next - line);
        if (name > 0) {
            size_t start = line + name, end = next;
            /* the value goes on over folded lines */
            while (end < len && (raw[end] == ' ' || raw[end] == '\t')) {
                nl = memchr(raw + end, '\n', len - end);
                end = nl ? (size_t)(nl - raw) + 1 : len;
            }
            if (guard_unsafe(raw + start, end - start)) {
                if (*copy == NULL) {
                    if ((*copy = malloc(len)) == NULL)
                        return -1;
                    memcpy(*copy, raw, len);
                }
                gmime_guard_value(*copy + start, end - start);
            }
            next = end;
        }
        line = next;
    }
    return *copy != NULL;
}
