/*
 * secret_file.h -- reading a secret (a password, a key) from a file an
 * admin keeps apart from the config.
 *
 * Public: secret_file_read, secret_file_read_lines, SECRET_LINE_MAX.
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

#define SECRET_LINE_MAX 256

/* A file of several secrets, one per line (blank lines skipped), each
 * checked as the first line of secret_file_read is, at most max of them
 * (the file at most 4096 bytes).  Returns how many, or -1 with err
 * naming the line (lines cleared). */
int secret_file_read_lines(const char *path, char lines[][SECRET_LINE_MAX], int max, char *err, size_t errlen);

#endif
