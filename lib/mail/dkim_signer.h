/*
 * dkim_signer.h -- one DKIM signature (RFC 6376) over a message fed as
 * it arrives: header fields one by one, then body chunks.
 *
 * Public: dkim_signer_lib_t, dkim_signer_t, dkim_signer_lib_new,
 * dkim_signer_lib_free, dkim_signer_key_check, dkim_signer_new, dkim_signer_header,
 * dkim_signer_body, dkim_signer_finish, dkim_signer_free,
 * dkim_signer_signed_headers, DKIM_SIGNER_HEADER_MAX.
 *
 * Over libopendkim (Debian's libopendkim-dev): relaxed/relaxed,
 * rsa-sha256, the whole body (no l=), the header fields RFC 6376 5.4.1
 * recommends plus Message-ID, MIME-Version and Content-*, each signed as
 * often as it occurs, and From once more (over-signed: a From added
 * later breaks the signature).  The library handle is shared by every
 * thread (read-only once made); a signer belongs to one message.
 * Logs nothing; error texts name the failing call, never the key.
 */
#ifndef POSTINBOX_DKIM_SIGNER_H
#define POSTINBOX_DKIM_SIGNER_H

#include <stddef.h>

/* Room for a DKIM-Signature value of an RSA 4096 key with every signed
 * field named, NUL included. */
#define DKIM_SIGNER_HEADER_MAX 4096

typedef struct dkim_signer_lib dkim_signer_lib_t;
typedef struct dkim_signer dkim_signer_t;

/* The header field names signed when present (NULL-terminated). */
extern const char *const dkim_signer_signed_headers[];

/* NULL with err. */
dkim_signer_lib_t *dkim_signer_lib_new(char *err, size_t errlen);
void dkim_signer_lib_free(dkim_signer_lib_t *lib);

/* 1 when private_key is a PEM private key OpenSSL reads, else 0.  A key
 * must pass this once before dkim_signer_new sees it: libopendkim's
 * dkim_privkey_load leaks on a key that does not parse (2.11.0~beta2,
 * found by LeakSanitizer).  Once, not per message: parsing a PEM key
 * costs as much as an RSA 2048 signature (README, "DKIM signing cost"). */
int dkim_signer_key_check(const char *private_key);
/* A signer for domain (d=) and selector (s=) with private_key (PEM, not
 * DER, checked by dkim_signer_key_check); id names the message in
 * libopendkim's own texts (the queue id).  NULL with err. */
dkim_signer_t *dkim_signer_new(dkim_signer_lib_t *lib, const char *id, const char *private_key, const char *domain,
                               const char *selector, char *err, size_t errlen);
/* One header field: its name and its value as the MTA gives it (without
 * the colon; a leading space, and folding with LF or CRLF, as they come).
 * 0, or -1 with err (the signer is then spent). */
int dkim_signer_header(dkim_signer_t *s, const char *name, const char *value, char *err, size_t errlen);
/* A body chunk, CRLF line ends.  0, or -1 with err. */
int dkim_signer_body(dkim_signer_t *s, const unsigned char *chunk, size_t len, char *err, size_t errlen);
/* The DKIM-Signature field's value (without "DKIM-Signature:"), folded
 * with LF + TAB, into out.  0, or -1 with err. */
int dkim_signer_finish(dkim_signer_t *s, char *out, size_t outlen, char *err, size_t errlen);
void dkim_signer_free(dkim_signer_t *s);

#endif
