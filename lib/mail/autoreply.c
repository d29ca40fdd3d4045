/*
 * autoreply.c -- automatic replies told by their headers.  See autoreply.h.
 *
 * RFC 3834 section 5: "Auto-Submitted: no" is the only value that says
 * a person sent it; auto-replied, auto-generated, auto-notified and any
 * extension value mean a machine.  Precedence (RFC 2076, not standard but
 * honoured by vacation(1) and most responders) bulk/junk is weak: lists
 * and bounces use it; auto_reply is what responders write.
 * X-Auto-Response-Suppress (Exchange) asks OTHERS not to answer: Outlook
 * puts it on out-of-office replies but also on ordinary meeting mail, so
 * it counts only together with a vacation subject.
 */
#define _GNU_SOURCE /* strcasestr */
#include "autoreply.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Subject phrases of out-of-office replies in the languages seen most. */
static const char *const vacation_subjects[] = {
    "out of office", "out of the office", "automatic reply", "auto reply", "auto-reply", "autoreply",
    "auto response", "auto-response", "autoresponse", "automated response", "automatic response",
    "vacation", "away from the office", "away from my desk", "on leave", "on holiday",
    "abwesenheit", "automatische antwort", "réponse automatique", "reponse automatique", "absence",
    "respuesta automática", "respuesta automatica", "fuori ufficio", "risposta automatica",
    "resposta automática", "afwezig", "automatisch antwoord", "frånvaro", "autosvar",
};

int
autoreply_vacation_subject(const char *subject)
{
    if (subject == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(vacation_subjects) / sizeof(vacation_subjects[0]); i++)
        if (strcasestr(subject, vacation_subjects[i]) != NULL)
            return 1;
    return 0;
}

/* The first word of a header value, lower-cased into buf. */
static const char *
first_word(const char *value, char *buf, size_t size)
{
    size_t n = 0;
    if (value == NULL)
        return NULL;
    while (isspace((unsigned char)*value))
        value++;
    while (*value && !isspace((unsigned char)*value) && *value != ';' && *value != '(' && n + 1 < size)
        buf[n++] = (char)tolower((unsigned char)*value++);
    buf[n] = '\0';
    return buf;
}

autoreply_strength_t
autoreply_check(GMimeMessage *msg, const char **signal)
{
    static const char *const responder_headers[] = { "X-Autoreply", "X-Autorespond", "X-Autoresponder" };
    char word[32];
    const char *found = NULL, *value;
    autoreply_strength_t strength = AUTOREPLY_NONE;
    GMimeObject *obj = GMIME_OBJECT(msg);

    if (signal != NULL)
        *signal = NULL;
    if (msg == NULL)
        return AUTOREPLY_NONE;
    for (size_t i = 0; i < sizeof(responder_headers) / sizeof(responder_headers[0]); i++) {
        value = g_mime_object_get_header(obj, responder_headers[i]);
        if (value != NULL && strcmp(first_word(value, word, sizeof(word)), "no") != 0) {
            found = i == 0 ? "x-autoreply" : i == 1 ? "x-autorespond" : "x-autoresponder";
            strength = AUTOREPLY_STRONG;
            break;
        }
    }
    if (strength == AUTOREPLY_NONE && (value = g_mime_object_get_header(obj, "Precedence")) != NULL) {
        first_word(value, word, sizeof(word));
        if (strcmp(word, "auto_reply") == 0 || strcmp(word, "auto-reply") == 0) {
            found = "precedence";
            strength = AUTOREPLY_STRONG;
        } else if (strcmp(word, "bulk") == 0 || strcmp(word, "junk") == 0) {
            found = "precedence";
            strength = AUTOREPLY_WEAK;
        }
    }
    if (strength == AUTOREPLY_NONE && (value = g_mime_object_get_header(obj, "Auto-Submitted")) != NULL &&
        *first_word(value, word, sizeof(word)) != '\0' && strcmp(word, "no") != 0) {
        found = "auto-submitted";
        strength = AUTOREPLY_WEAK;
    }
    int suppress_only = 0;
    if (strength == AUTOREPLY_NONE && g_mime_object_get_header(obj, "X-Auto-Response-Suppress") != NULL) {
        found = "x-auto-response-suppress";
        strength = AUTOREPLY_WEAK; /* only with a vacation subject, below */
        suppress_only = 1;
    }
    if (strength == AUTOREPLY_WEAK && autoreply_vacation_subject(g_mime_message_get_subject(msg)))
        strength = AUTOREPLY_STRONG;
    else if (suppress_only) {
        found = NULL;
        strength = AUTOREPLY_NONE;
    }
    if (signal != NULL)
        *signal = found;
    return strength;
}
