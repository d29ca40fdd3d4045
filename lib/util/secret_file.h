/*
 * secret_file.h -- reading a secret (a password, a key) from a file an
 * admin keeps apart from the config.
 *
 * Public: secret_file_read.
 * The secret is the file's first line without its line end; it may not
 * be empty, hold NUL or control bytes, or be longer than the buffer.  A
 * file other users can read (mode & 0007) is refused, as ssh does for
 * private keys: a secret everyone can read is no secret.  Errors name
 * the path and the problem, never the secret.  Thread-safe; logs nothing.
 */
#ifndef POSTINBOX_SECRET_FILE_H
#define POSTINBOX_SECRET_FILE_H

#include <stddef.h>

/* Reads path's secret into out (NUL-terminated).  Returns its length,
 * or -1 with err (out cleared). */
long secret_file_read(const char *path, char *out, size_t outsize, char *err, size_t errlen);

#endif
