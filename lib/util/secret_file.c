/*
 * secret_file.c -- a secret from a file.  See secret_file.h.
 */
#include "secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FILE_MAX 4096

/* The whole file into buf (at most SECRET_FILE_MAX bytes), after the
 * checks of secret_file.h: 0, -1 with err. */
static int
secret_file_load(const char *path, char *buf, size_t *lenp, char *err, size_t errlen)
{
    struct stat st;
    ssize_t got;
    size_t len = 0;
    int fd;

    *lenp = 0;
    if (path == NULL || *path == '\0') {
        snprintf(err, errlen, "no secret file configured");
        return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & 0007) {
        snprintf(err, errlen, "%s: readable by other users (mode %04o); chmod o-rwx it", path,
                 (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    while (len < SECRET_FILE_MAX && (got = read(fd, buf + len, SECRET_FILE_MAX - len)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            close(fd);
            memset(buf, 0, SECRET_FILE_MAX);
            return -1;
        }
        len += (size_t)got;
    }
    close(fd);
    *lenp = len;
    return 0;
}

/* The problem with one line of a secret file, or NULL. */
static const char *
secret_file_line_problem(const char *line, size_t len, size_t outsize)
{
    if (len == 0)
        return "is empty";
    if (len + 1 > outsize)
        return "holds a secret that is too long";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            return "holds control bytes";
    return NULL;
}

long
secret_file_read(const char *path, char *out, size_t outsize, char *err, size_t errlen)
{
    char buf[SECRET_FILE_MAX];
    size_t len, end = 0;

    if (outsize > 0)
        out[0] = '\0';
    if (secret_file_load(path, buf, &len, err, errlen) != 0)
        return -1;
    while (end < len && buf[end] != '\n')
        end++;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    const char *problem = secret_file_line_problem(buf, end, outsize);
    if (problem != NULL) {
        snprintf(err, errlen, "%s: the first line %s", path, problem);
        memset(buf, 0, sizeof(buf));
        return -1;
    }
    memcpy(out, buf, end);
    out[end] = '\0';
    memset(buf, 0, sizeof(buf));
    return (long)end;
}

int
secret_file_read_lines(const char *path, char lines[][SECRET_LINE_MAX], int max, char *err, size_t errlen)
{
    char buf[SECRET_FILE_MAX];
    size_t len, at = 0;
    int n = 0, lineno = 0;

    if (secret_file_load(path, buf, &len, err, errlen) != 0)
        return -1;
    while (at < len) {
        size_t end = at;
        while (end < len && buf[end] != '\n')
            end++;
        size_t stop = end > at && buf[end - 1] == '\r' ? end - 1 : end;
        lineno++;
        if (stop > at) {
            const char *problem = n == max ? "is one too many" : secret_file_line_problem(buf + at, stop - at,
                                                                                           SECRET_LINE_MAX);
            if (problem != NULL) {
                snprintf(err, errlen, "%s: line %d %s", path, lineno, problem);
                memset(buf, 0, sizeof(buf));
                memset(lines, 0, (size_t)max * SECRET_LINE_MAX);
                return -1;
            }
            memcpy(lines[n], buf + at, stop - at);
            lines[n++][stop - at] = '\0';
        }
        at = end + 1;
    }
    memset(buf, 0, sizeof(buf));
    if (n == 0) {
        snprintf(err, errlen, "%s: is empty", path);
        return -1;
    }
    return n;
}
