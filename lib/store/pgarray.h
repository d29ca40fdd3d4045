/*
 * pgarray.h -- PostgreSQL array literals ("{"a","b",NULL}") for passing a
 * batch as one text parameter, unnested by the server.
 *
 * Public: pgarray_t, pgarray_init, pgarray_add, pgarray_addf,
 * pgarray_finish, pgarray_free.
 * Every element is double-quoted with '"' and '\' escaped, so any text
 * (and any number) is safe; NULL adds an SQL NULL.  An allocation failure
 * sticks and makes pgarray_finish return NULL.  Logs nothing.
 */
#ifndef POSTINBOX_PGARRAY_H
#define POSTINBOX_PGARRAY_H

#include <stddef.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int count;
    int failed;
} pgarray_t;

void pgarray_init(pgarray_t *a);
/* Adds text, or NULL for an SQL NULL. */
void pgarray_add(pgarray_t *a, const char *text);
void pgarray_addf(pgarray_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The literal (owned by a), or NULL after an allocation failure. */
const char *pgarray_finish(pgarray_t *a);
void pgarray_free(pgarray_t *a);

#endif
