/*
 * track_token.h -- the tokens of tracking links: /o/ (open), /c/ (click)
 * and /u/ (unsubscribe) under tracking_base_url.
 *
 * Public: track_keys_t, track_keys_new, track_keys_load, track_keys_free, track_kind_t,
 * track_id_new, track_token_make, track_token_parse, track_token_verify,
 * TRACK_ID_LEN, TRACK_TOKEN_MAX.
 *
 * A token is 34 URL-safe characters, base64url (no padding) of 25 bytes:
 * the key's id (1), the message's tracking id (12 random bytes,
 * message.tracking_id), the link number (2, big-endian; 0 for open and
 * unsubscribe) and the first 10 bytes of
 *   HMAC-SHA256(key, "postinbox-track-1" NUL kind tracking-id link subject)
 * where the subject is the link's URL (click), the recipient
 * (unsubscribe) or empty (open).  The URL is not in the token: the
 * listener reads links[n] of the message and checks the MAC over it, so
 * a token cannot be made to redirect anywhere else, and one whose MAC
 * fails is a 404.  Keys come from tracking_key_file, one per line: the
 * first signs, every one verifies (rotation).  A key's id is the first
 * byte of SHA-256 over it; two keys with one id are both tried.
 * Thread-safe (keys are read-only once loaded); logs nothing.
 */
#ifndef POSTINBOX_TRACK_TOKEN_H
#define POSTINBOX_TRACK_TOKEN_H

#include <stddef.h>

#define TRACK_ID_LEN 12
#define TRACK_TOKEN_LEN 34
#define TRACK_TOKEN_MAX (TRACK_TOKEN_LEN + 1)
#define TRACK_LINK_MAX 65535

typedef enum { TRACK_OPEN = 'o', TRACK_CLICK = 'c', TRACK_UNSUBSCRIBE = 'u' } track_kind_t;

typedef struct track_keys track_keys_t;

/* Keys from n strings (1..8, each at least 32 characters), the first
 * signing.  NULL with err, which never holds a key. */
track_keys_t *track_keys_new(const char *const *lines, int n, char *err, size_t errlen);
/* The keys of path (secret_file_read_lines: mode, at most 8 lines), as
 * track_keys_new.  NULL with err naming the file. */
track_keys_t *track_keys_load(const char *path, char *err, size_t errlen);
void track_keys_free(track_keys_t *keys);

/* 12 fresh random bytes (OpenSSL's CSPRNG): 0, -1 when it failed. */
int track_id_new(unsigned char id[TRACK_ID_LEN]);

/* The token of (kind, id, link, subject), signed with the first key,
 * into out: 0, -1 (link too big, HMAC failed). */
int track_token_make(const track_keys_t *keys, track_kind_t kind, const unsigned char id[TRACK_ID_LEN],
                     unsigned link, const char *subject, char out[TRACK_TOKEN_MAX]);

/* The tracking id and link number of a token (len characters), not yet
 * checked: 0, -1 when it is not a token's form. */
int track_token_parse(const char *token, size_t len, unsigned char id[TRACK_ID_LEN], unsigned *link);

/* Whether the token (len characters) is one of ours for kind and subject:
 * 1, 0. Compares in constant time. */
int track_token_verify(const track_keys_t *keys, track_kind_t kind, const char *token, size_t len,
                       const char *subject);

#endif
