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

long
secret_file_read(const char *path, char *out, size_t outsize, char *err, size_t errlen)
{
    char buf[SECRET_FILE_MAX];
    struct stat st;
    ssize_t got;
    size_t len = 0;
    int fd;

    if (outsize > 0)
        out[0] = '\0';
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
    while (len < sizeof(buf) && (got = read(fd, buf + len, sizeof(buf) - len)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            close(fd);
            memset(buf, 0, sizeof(buf));
            return -1;
        }
        len += (size_t)got;
    }
    close(fd);
    size_t end = 0;
    while (end < len && buf[end] != '\n')
        end++;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    const char *problem = NULL;
    if (end == 0)
        problem = "is empty";
    else if (end + 1 > outsize)
        problem = "holds a secret that is too long";
    for (size_t i = 0; problem == NULL && i < end; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            problem = "holds control bytes";
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
