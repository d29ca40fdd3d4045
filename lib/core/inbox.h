/*
 * inbox.h -- what postinbox knows about one address.
 *
 * Public: inbox_status_t, inbox_lookup_t, suppression_t,
 * inbox_status_parse, inbox_status_name.  Plain data shared by the store (which fills it)
 * and the decision engine (which reads it).  Logs nothing.
 */
#ifndef POSTINBOX_INBOX_H
#define POSTINBOX_INBOX_H

typedef enum { INBOX_ACTIVE = 0, INBOX_SUSPENDED, INBOX_DISABLED } inbox_status_t;

typedef struct {
    int managed;             /* the domain is ours (sandbox or verified custom) */
    int found;               /* an inbox has this address */
    char id[40];             /* inbox uuid when found */
    char address[256];       /* canonical (lower-case) address when found */
    inbox_status_t status;
    int daily_limit;         /* effective limits */
    int burst_limit;
    int granted;             /* login may send as it; -1 when no login was given */
    int suppressions;        /* the inbox has a suppression list (sql/005) */
    int domain_failing;      /* its domain failed its DNS checks (domain.dns_failed, sql/016) */
    int tracking;            /* INBOX_TRACK_* of its tracking settings (sql/017) */
} inbox_lookup_t;

/* lookup()'s tracking bits (sql/functions/lookup.sql tracking_mask). */
#define INBOX_TRACK_OPENS 1
#define INBOX_TRACK_CLICKS 2
#define INBOX_TRACK_UNSUBSCRIBE 4

/* Why a recipient is on an inbox's suppression list. */
typedef struct {
    char source[16];         /* "bounce", "complaint", "manual" or "unsubscribe" */
    char dsn[16];            /* X.Y.Z of a bounce, "" otherwise */
    char date[16];           /* YYYY-MM-DD (UTC) it was added */
} suppression_t;

/* "active" etc.; -1 if unknown. */
int inbox_status_parse(const char *text, inbox_status_t *status);
const char *inbox_status_name(inbox_status_t status);

#endif
