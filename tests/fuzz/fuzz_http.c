/*
 * fuzz_http.c -- an HTTP request's head as the API sees it.  The input is
 * "METHOD PATH[?QUERY] VERSION" and header lines ("Name: value"), LF or
 * CRLF.  The path is matched against every route of policyd/api.c
 * (apiutil_match) and each capture checked as an id (valid_uuid); the
 * query's parameters go through the checks the list endpoints run
 * (valid_page, valid_timestamp, valid_event_type); the headers go through
 * http_framing_header and http_framing_verdict, and the API key through
 * apikey_from_headers, apikey_well_formed and apikey_hash.
 */
#include "fuzz.h"

#include <stdio.h>
#include <strings.h>

#include "apikey.h"
#include "apiutil.h"
#include "http_framing.h"
#include "validate.h"

static const char *const routes[] = {
    "/v1/inboxes", "/v1/inboxes/*", "/v1/inboxes/*/messages", "/v1/inboxes/*/messages/*",
    "/v1/inboxes/*/threads", "/v1/inboxes/*/threads/*", "/v1/inboxes/*/events", "/v1/inboxes/*/webhooks",
    "/v1/inboxes/*/webhooks/*", "/v1/inboxes/*/webhooks/*/deliveries", "/v1/inboxes/*/suppressions",
    "/v1/inboxes/*/suppressions/+",
};

static void
fuzz_path(char *path)
{
    char caps[APIUTIL_MAX_CAPTURES][APIUTIL_CAPTURE_MAX];

    for (size_t r = 0; r < sizeof(routes) / sizeof(routes[0]); r++) {
        int n = apiutil_match(routes[r], path, caps);
        if (n > APIUTIL_MAX_CAPTURES)
            abort();
        for (int i = 0; i < n; i++) {
            if (strlen(caps[i]) >= APIUTIL_CAPTURE_MAX)
                abort();
            if (valid_uuid(caps[i]))
                ascii_lower(caps[i]);
        }
    }
}

static void
fuzz_query(char *query)
{
    const char *limit = NULL, *offset = NULL;
    char err[256], out[80];
    long l, o;

    for (char *save = NULL, *pair = strtok_r(query, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *value = strchr(pair, '=');
        if (value == NULL)
            continue;
        *value++ = '\0';
        if (strcmp(pair, "limit") == 0)
            limit = value;
        else if (strcmp(pair, "offset") == 0)
            offset = value;
        else if (strcmp(pair, "type") == 0)
            (void)valid_event_type(value);
        else
            (void)valid_timestamp(value, out, sizeof(out));
    }
    (void)valid_page(limit, offset, &l, &o, err, sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_framing_t framing = { 0 };
    const char *code, *message, *x_api_key = NULL, *authorization = NULL;
    char version[16] = "HTTP/1.1", hash[APIKEY_HASH_SIZE], prefix[APIKEY_PREFIX_LEN + 1];
    char *text = fuzz_cstring(data, size), *save = NULL;

    if (text == NULL)
        return 0;
    char *line = strtok_r(text, "\n", &save);
    if (line != NULL) {
        char *path = strchr(line, ' ');
        if (path != NULL) {
            *path++ = '\0';
            char *ver = strchr(path, ' ');
            if (ver != NULL) {
                *ver++ = '\0';
                snprintf(version, sizeof(version), "%.*s", (int)strcspn(ver, "\r"), ver);
            }
            char *query = strchr(path, '?');
            if (query != NULL)
                *query++ = '\0';
            fuzz_path(path);
            if (query != NULL)
                fuzz_query(query);
        }
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        line[strcspn(line, "\r")] = '\0';
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        char *value = colon + 1;
        value += strspn(value, " \t");
        for (size_t n = strlen(value); n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'); n--)
            value[n - 1] = '\0';
        size_t name_len = (size_t)(colon - line);
        char *name = malloc(name_len ? name_len : 1); /* exactly the name: ASan sees a read past it */
        if (name == NULL)
            break;
        memcpy(name, line, name_len);
        http_framing_header(&framing, name, name_len, value);
        free(name);
        if ((size_t)(colon - line) == 9 && strncasecmp(line, "x-api-key", 9) == 0)
            x_api_key = value;
        if ((size_t)(colon - line) == 13 && strncasecmp(line, "authorization", 13) == 0)
            authorization = value;
    }
    int status = http_framing_verdict(&framing, version, &code, &message);
    if (status != 0 && status != 400 && status != 501)
        abort();
    const char *key = apikey_from_headers(x_api_key, authorization);
    if (key != NULL && apikey_well_formed(key)) {
        apikey_hash(key, hash);
        apikey_prefix(key, prefix);
    }
    free(text);
    return 0;
}
