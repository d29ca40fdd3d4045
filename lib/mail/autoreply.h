/*
 * autoreply.h -- telling automatic replies (RFC 3834: out-of-office,
 * vacation, autoresponders) by their headers.
 *
 * Public: autoreply_check, autoreply_vacation_subject.
 * autoreply_check names the header that marks a message as sent by a
 * machine on its own ("auto-submitted", "x-autoreply", "x-autorespond",
 * "precedence", "x-auto-response-suppress"); it looks at headers only.
 * Bounces carry such headers too (Postfix and Exim write
 * "Auto-Submitted: auto-replied" on their DSNs), so "an auto-reply" in the
 * product's sense is decided together with the bounce reading: see
 * dsn_report_t.auto_reply in dsn.h, set by dsn_parse_message only for a
 * message that is neither a DSN nor an ARF report.  Logs nothing; no
 * allocation; linear in the header sizes.
 */
#ifndef POSTINBOX_AUTOREPLY_H
#define POSTINBOX_AUTOREPLY_H

#include <gmime/gmime.h>

typedef enum {
    AUTOREPLY_NONE = 0,
    AUTOREPLY_WEAK,  /* Auto-Submitted other than "no", Precedence bulk/junk: bounces say this too */
    AUTOREPLY_STRONG /* X-Autoreply, X-Autorespond, Precedence auto_reply, or a vacation
                      * Subject together with any auto header: a person's responder */
} autoreply_strength_t;

/* How surely msg's headers say "automatic reply"; *signal (if not NULL)
 * gets the lower-case name of the deciding header, or NULL. */
autoreply_strength_t autoreply_check(GMimeMessage *msg, const char **signal);

/* Whether subject reads like an out-of-office reply ("Out of Office",
 * "Automatic reply:", "Abwesenheitsnotiz", ...).  Alone it proves nothing:
 * people write such subjects; autoreply_check uses it only together
 * with an auto header. */
int autoreply_vacation_subject(const char *subject);

#endif
