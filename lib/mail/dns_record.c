/*
 * dns_record.c -- zone-file text of DNS records.  See dns_record.h.
 */
#include "dns_record.h"

#include <stdio.h>
#include <string.h>

size_t
dns_txt_strings(const char *value, char *out, size_t outlen)
{
    size_t n = 0, vlen = strlen(value);

    if (outlen == 0)
        return 0;
    for (size_t start = 0; start < vlen || (vlen == 0 && start == 0); start += DNS_TXT_STRING_MAX) {
        size_t end = start + DNS_TXT_STRING_MAX < vlen ? start + DNS_TXT_STRING_MAX : vlen;
        /* the widest a part can be: a separator, quotes, \DDD for each byte */
        char part[2 + 2 + 4 * DNS_TXT_STRING_MAX + 1];
        size_t p = 0;
        if (start > 0)
            part[p++] = ' ';
        part[p++] = '"';
        for (size_t i = start; i < end; i++) {
            unsigned char ch = (unsigned char)value[i];
            if (ch == '"' || ch == '\\') {
                part[p++] = '\\';
                part[p++] = (char)ch;
            } else if (ch < 0x20 || ch > 0x7e) {
                p += (size_t)snprintf(part + p, sizeof(part) - p, "\\%03u", ch);
            } else {
                part[p++] = (char)ch;
            }
        }
        part[p++] = '"';
        if (n + p + 1 > outlen) {
            out[0] = '\0';
            return 0;
        }
        memcpy(out + n, part, p);
        n += p;
        if (vlen == 0)
            break;
    }
    out[n] = '\0';
    return n;
}
