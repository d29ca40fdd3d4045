/*
 * bounce_class.c -- the reason and bounceType of a delivery failure.
 * See bounce_class.h.
 *
 * Three tables decide: text rules (needles in the diagnostic text, with
 * a tier that says how much they weigh against the status), status rules
 * (RFC 3463, the RFC 5248 registry, RFC 7372, RFC 7505, and Microsoft's
 * documented 5.7.5xx-7xx ranges) and code rules (RFC 5321, RFC 7504).
 * The rules were written from the providers' and MTAs' documented reply
 * texts; each group names its source.  Within a table the first row that
 * matches wins, so a table is ordered from the most specific words to the
 * most general, and a row whose words are a trap for another reason
 * ("delivery temporarily suspended", "unusual rate of unsolicited mail
 * from your DKIM domain") comes before the rows it would fool.
 */
#include "bounce_class.h"

#include <string.h>
#include <strings.h>

/* ---- the vocabulary ------------------------------------------------------------ */

static const char *const reason_names[BOUNCE_REASON_COUNT] = {
    [BOUNCE_UNDETERMINED] = "undetermined",
    [BOUNCE_USER_UNKNOWN] = "user_unknown",
    [BOUNCE_MAILBOX_FULL] = "mailbox_full",
    [BOUNCE_HOST_UNKNOWN] = "host_unknown",
    [BOUNCE_HAS_MOVED] = "has_moved",
    [BOUNCE_MAILBOX_DISABLED] = "mailbox_disabled",
    [BOUNCE_NOT_ACCEPTING_MAIL] = "not_accepting_mail",
    [BOUNCE_CONTENT_REJECTED] = "content_rejected",
    [BOUNCE_VIRUS] = "virus",
    [BOUNCE_POLICY_VIOLATION] = "policy_violation",
    [BOUNCE_BLOCKED] = "blocked",
    [BOUNCE_AUTH_FAILURE] = "auth_failure",
    [BOUNCE_NO_PTR] = "no_ptr",
    [BOUNCE_TLS_REQUIRED] = "tls_required",
    [BOUNCE_RATE_LIMITED] = "rate_limited",
    [BOUNCE_MESSAGE_TOO_BIG] = "message_too_big",
    [BOUNCE_QUOTA_EXCEEDED] = "quota_exceeded",
    [BOUNCE_EXPIRED] = "expired",
    [BOUNCE_NETWORK_ERROR] = "network_error",
    [BOUNCE_SYSTEM_ERROR] = "system_error",
    [BOUNCE_SYNTAX_ERROR] = "syntax_error",
    [BOUNCE_RELAYING_DENIED] = "relaying_denied",
    [BOUNCE_SENDER_REJECTED] = "sender_rejected",
    [BOUNCE_ON_HOLD] = "on_hold",
};

const char *
bounce_reason_name(bounce_reason_t reason)
{
    if ((unsigned)reason >= BOUNCE_REASON_COUNT)
        return reason_names[BOUNCE_UNDETERMINED];
    return reason_names[reason];
}

int
bounce_reason_from_name(const char *name, bounce_reason_t *out)
{
    if (name == NULL)
        return -1;
    for (int r = 0; r < BOUNCE_REASON_COUNT; r++)
        if (strcmp(name, reason_names[r]) == 0) {
            *out = (bounce_reason_t)r;
            return 0;
        }
    return -1;
}

const char *
bounce_type_name(bounce_type_t type)
{
    switch (type) {
    case BOUNCE_TYPE_PERMANENT:
        return "permanent";
    case BOUNCE_TYPE_TRANSIENT:
        return "transient";
    default:
        return "undetermined";
    }
}

bounce_type_t
bounce_reason_type(bounce_reason_t reason)
{
    switch (reason) {
    case BOUNCE_USER_UNKNOWN:
    case BOUNCE_HOST_UNKNOWN:
    case BOUNCE_HAS_MOVED:
    case BOUNCE_NOT_ACCEPTING_MAIL:
        return BOUNCE_TYPE_PERMANENT;
    case BOUNCE_UNDETERMINED:
    case BOUNCE_ON_HOLD:
    case BOUNCE_REASON_COUNT:
        return BOUNCE_TYPE_UNDETERMINED;
    default:
        return BOUNCE_TYPE_TRANSIENT;
    }
}

int
bounce_reason_sender_problem(bounce_reason_t reason)
{
    switch (reason) {
    case BOUNCE_BLOCKED:
    case BOUNCE_CONTENT_REJECTED:
    case BOUNCE_VIRUS:
    case BOUNCE_POLICY_VIOLATION:
    case BOUNCE_AUTH_FAILURE:
    case BOUNCE_NO_PTR:
    case BOUNCE_TLS_REQUIRED:
    case BOUNCE_SENDER_REJECTED:
        return 1;
    default:
        return 0;
    }
}

/* ---- the text rules -------------------------------------------------------------- */

typedef enum {
    TIER_STRONG = 1, /* the words decide, whatever the status */
    TIER_WEAK,       /* the words decide over a generic status only */
    TIER_HINT        /* the words decide only when nothing else does */
} tier_t;

typedef struct {
    unsigned char tier;
    const char *needle;  /* lower case; a leading '~' asks for word boundaries */
    const char *needle2; /* must appear too (anywhere), or NULL */
    const char *status;  /* the status must be this or start with it ("4."), or NULL */
    short code_min, code_max; /* the code must be in [min, max]; 0, 0: any */
    bounce_reason_t reason;
} text_rule_t;

#define S(n, r) { TIER_STRONG, n, NULL, NULL, 0, 0, BOUNCE_##r }
#define S2(n, m, r) { TIER_STRONG, n, m, NULL, 0, 0, BOUNCE_##r }
#define SST(st, n, r) { TIER_STRONG, n, NULL, st, 0, 0, BOUNCE_##r }
#define W(n, r) { TIER_WEAK, n, NULL, NULL, 0, 0, BOUNCE_##r }
#define H(n, lo, hi, r) { TIER_HINT, n, NULL, NULL, lo, hi, BOUNCE_##r }

static const text_rule_t text_rules[] = {
    /* Held, not failed: list moderation (Mailman, Google Groups), quarantine. */
    S("held for moderat", ON_HOLD),
    S("awaiting moderat", ON_HOLD),
    S("moderator approval", ON_HOLD),
    S("held for review", ON_HOLD),
    S("has been quarantined", ON_HOLD),
    S("message is being held", ON_HOLD),

    /* Exchange Online / Exchange 2010+: RESOLVER.RST.* is a recipient
     * restriction (groups, allowed senders) -- before "not authenticated". */
    S("recipsizelimit", MESSAGE_TOO_BIG),
    S("resolver.rst.", POLICY_VIOLATION),
    S("not authenticated for group", POLICY_VIOLATION),
    /* Google Groups: "you may not have permission to post" (before "not exist"). */
    S("permission to post", POLICY_VIOLATION),
    /* Exchange: STOREDRV quota, RESOLVER.ADR recipient not found. */
    S("quotaexceeded", MAILBOX_FULL),
    S("recipientnotfound", USER_UNKNOWN),
    S("recipnotfound", USER_UNKNOWN),
    S("resolver.adr.", USER_UNKNOWN),
    S("nonexistentdomain", HOST_UNKNOWN),
    /* Exchange Online DBEB: "550 5.4.1 Recipient address rejected: Access denied". */
    SST("5.4.1", "recipient address rejected: access denied", USER_UNKNOWN),

    /* The virus scanner broke: the receiving system's problem, not malware. */
    S("virus scanner unavailable", SYSTEM_ERROR),
    S("scanner unavailable", SYSTEM_ERROR),
    S("virus scan failed", SYSTEM_ERROR),
    S("scanning failed", SYSTEM_ERROR),
    /* Malware (Exim/ClamAV, Postfix/amavis, Proofpoint, Mimecast, Barracuda). */
    S("virus", VIRUS),
    S("malware", VIRUS),
    S("infected", VIRUS),
    S("trojan", VIRUS),
    S("harmful content", VIRUS),
    S("malicious", VIRUS),

    /* Gmail 4.7.28 / 4.7.0, Outlook 4.7.650: reputation texts that also say
     * "DKIM domain" or "spam" (before the auth and content rules). */
    S2("unusual rate of unsolicited", "rate limited", RATE_LIMITED),
    S("unusual rate of unsolicited", BLOCKED),
    /* A throttle says so, even when reputation is its cause (Outlook 4.7.650). */
    S("rate limited", RATE_LIMITED),
    /* Exchange 5.6.211 "Invalid MIME Content: ... size exceeded". */
    S("invalid mime", CONTENT_REJECTED),
    S("likely unsolicited", CONTENT_REJECTED),
    /* Yahoo/AOL: TSS04/TS0x deferrals for complaints, BL2x Spamhaus blocks,
     * "4.16.5x" complaint deferrals, AOL RLY/RTR/DYN codes. */
    S("user complaints", BLOCKED),
    S("excessive unknown recipients", BLOCKED),
    /* Outlook 5.7.703: the sender's own tenant blocks the recipient. */
    S("tenant allow block list", POLICY_VIOLATION),
    S("[tss0", BLOCKED),
    S("[ts0", BLOCKED),
    S("[bl2", BLOCKED),
    S("4.16.5", BLOCKED),
    S("permanently deferred", BLOCKED),
    S("rly:", BLOCKED),
    S("rtr:", BLOCKED),
    S("dyn:", BLOCKED),

    /* Reverse DNS (Gmail 5.7.25, Postfix reject_unknown_client_hostname,
     * AT&T "valid sender domain ... reverse DNS", Outlook, Yahoo). */
    S("ptr record", NO_PTR),
    S("~ptr", NO_PTR),
    S("reverse dns", NO_PTR),
    S("reverse-dns", NO_PTR),
    S("~rdns", NO_PTR),
    S("reverse hostname", NO_PTR),
    S("reverse lookup", NO_PTR),
    S("cannot find your hostname", NO_PTR),
    S("reverse dns lookup", NO_PTR),
    S("no reverse", NO_PTR),
    S("ipv6 sending guidelines", NO_PTR),

    /* SPF, DKIM, DMARC, ARC, spoofing (Gmail 5.7.26/5.7.27, Outlook 5.7.509
     * and 5.7.515, Yahoo, iCloud, Zoho, Mimecast Anti-Spoofing, Barracuda). */
    S("dmarc", AUTH_FAILURE),
    S("~spf", AUTH_FAILURE),
    S("dkim", AUTH_FAILURE),
    S("domainkeys", AUTH_FAILURE),
    S("~arc validation", AUTH_FAILURE),
    S("unauthenticated", AUTH_FAILURE),
    S("authentication level", AUTH_FAILURE),
    S("sender authentication", AUTH_FAILURE),
    S("fails authentication", AUTH_FAILURE),
    S("failed authentication", AUTH_FAILURE),
    S("authentication check", AUTH_FAILURE),
    S("senderid", AUTH_FAILURE),
    S("sender id", AUTH_FAILURE),
    S("spoof", AUTH_FAILURE),
    S("impersonat", AUTH_FAILURE),
    S("authentication credentials invalid", AUTH_FAILURE),

    /* TLS or another security feature required (Gmail "TLS required for
     * RCPT domain", Postfix "TLS is required, but was not offered", 530
     * "Must issue a STARTTLS command first", RFC 8689 REQUIRETLS). */
    S("tls required", TLS_REQUIRED),
    S("tls is required", TLS_REQUIRED),
    S("requires tls", TLS_REQUIRED),
    S("require tls", TLS_REQUIRED),
    S("requiretls", TLS_REQUIRED),
    S("must issue a starttls", TLS_REQUIRED),
    S("starttls is required", TLS_REQUIRED),
    S("starttls required", TLS_REQUIRED),
    S("encryption required", TLS_REQUIRED),
    S("requires encryption", TLS_REQUIRED),
    S("encryption needed", TLS_REQUIRED),
    S("secure connection required", TLS_REQUIRED),
    S("tls connection required", TLS_REQUIRED),
    S("must use tls", TLS_REQUIRED),

    /* Relaying (Postfix, Sendmail, Exim, qmail rcpthosts, Exchange 5.7.54/5.7.64). */
    S("relay access denied", RELAYING_DENIED),
    S("relaying denied", RELAYING_DENIED),
    S("relay denied", RELAYING_DENIED),
    S("relay not permitted", RELAYING_DENIED),
    S("relaying not allowed", RELAYING_DENIED),
    S("relay not allowed", RELAYING_DENIED),
    S("relaying disallowed", RELAYING_DENIED),
    S("not permitted to relay", RELAYING_DENIED),
    S("not allowed to relay", RELAYING_DENIED),
    S("unable to relay", RELAYING_DENIED),
    S("we do not relay", RELAYING_DENIED),
    S("relay prohibited", RELAYING_DENIED),
    S("relaying to", RELAYING_DENIED),
    S("allowed rcpthosts", RELAYING_DENIED),
    S("not a gateway", RELAYING_DENIED),
    S("relay access", RELAYING_DENIED),
    S("relay rejected", RELAYING_DENIED),

    /* The envelope sender was refused (Postfix "Sender address rejected",
     * Sendmail "Domain of sender address ... does not exist", Exim callout
     * "Sender verify failed", Proofpoint "5.1.0 Sender rejected"). */
    S("sender address rejected", SENDER_REJECTED),
    S("sender rejected", SENDER_REJECTED),
    S("domain of sender address", SENDER_REJECTED),
    S("sender verify failed", SENDER_REJECTED),
    S("sender verification failed", SENDER_REJECTED),
    S("sender address verification", SENDER_REJECTED),
    S("invalid sender", SENDER_REJECTED),
    S("bad sender", SENDER_REJECTED),
    S("sender domain must exist", SENDER_REJECTED),
    S("sender domain not found", SENDER_REJECTED),
    S("sender domain does not exist", SENDER_REJECTED),
    S("unverified sender", SENDER_REJECTED),
    S("envelope sender", SENDER_REJECTED),
    S("sender address is not valid", SENDER_REJECTED),
    S("mail from address", SENDER_REJECTED),
    S("address is not verified", SENDER_REJECTED),

    /* Sending limits: the sender's quota, not the recipient's (Gmail 5.4.5
     * "Daily user sending limit exceeded", 452 4.5.3 "Too many recipients",
     * Exchange 5.2.121/5.2.122 recipient rate limits). */
    S("sending limit", QUOTA_EXCEEDED),
    S("sending quota", QUOTA_EXCEEDED),
    S("daily limit", QUOTA_EXCEEDED),
    S("daily quota", QUOTA_EXCEEDED),
    S("too many recipients", QUOTA_EXCEEDED),
    S("recipient limit", QUOTA_EXCEEDED),
    S("recipients per message", QUOTA_EXCEEDED),
    S("message limit", QUOTA_EXCEEDED),
    S("messages per", QUOTA_EXCEEDED),
    S("recipient rate limit", QUOTA_EXCEEDED),
    S("submission quota", QUOTA_EXCEEDED),
    S("outbound quota", QUOTA_EXCEEDED),
    S("message quota", QUOTA_EXCEEDED),
    S("relay limit", QUOTA_EXCEEDED),
    S("message per connection", QUOTA_EXCEEDED),
    S("messages per connection", QUOTA_EXCEEDED),

    /* The recipient's storage (RFC 5321 552 wording, Gmail "over quota" /
     * "out of storage space", Yahoo, Exchange STOREDRV, Dovecot, Exim
     * appendfile, Domino, GMX, German "Postfach voll"). */
    S("mailbox full", MAILBOX_FULL),
    S("mailbox is full", MAILBOX_FULL),
    S("mailbox has exceeded", MAILBOX_FULL),
    S("mailbox size limit", MAILBOX_FULL),
    S("mailbox exceeds", MAILBOX_FULL),
    S("mail box full", MAILBOX_FULL),
    S("mailfolder is full", MAILBOX_FULL),
    S("mail file is full", MAILBOX_FULL),
    S("inbox is full", MAILBOX_FULL),
    S("full mailbox", MAILBOX_FULL),
    S("over quota", MAILBOX_FULL),
    S("overquota", MAILBOX_FULL),
    S("over its quota", MAILBOX_FULL),
    S("quota exceeded", MAILBOX_FULL),
    S("exceeded quota", MAILBOX_FULL),
    S("exceeded its quota", MAILBOX_FULL),
    S("exceeds quota", MAILBOX_FULL),
    S("quota exceed", MAILBOX_FULL),
    S("quota full", MAILBOX_FULL),
    S("storage allocation", MAILBOX_FULL),
    S("out of storage", MAILBOX_FULL),
    S("storage space", MAILBOX_FULL),
    S("storage quota", MAILBOX_FULL),
    S("storage limit", MAILBOX_FULL),
    S("quota usage", MAILBOX_FULL),
    S("postfach voll", MAILBOX_FULL),
    S("boite pleine", MAILBOX_FULL),

    /* Size (RFC 1870 / 5.3.4, Gmail 5.3.4, Exchange 5.2.3, Postfix
     * "message size ... exceeds size limit", Mimecast "Message Too Large"). */
    S("too big", MESSAGE_TOO_BIG),
    S("too large", MESSAGE_TOO_BIG),
    S("size exceeds", MESSAGE_TOO_BIG),
    S("exceeds size", MESSAGE_TOO_BIG),
    S("exceeds the size", MESSAGE_TOO_BIG),
    S("size limit", MESSAGE_TOO_BIG),
    S("maximum message size", MESSAGE_TOO_BIG),
    S("message size", MESSAGE_TOO_BIG),
    S("message length exceeds", MESSAGE_TOO_BIG),
    S("larger than", MESSAGE_TOO_BIG),
    S("exceeds the maximum size", MESSAGE_TOO_BIG),
    S("email size", MESSAGE_TOO_BIG),
    S("size exceeded", MESSAGE_TOO_BIG),

    /* Moved (5.1.6, RFC 5321 551 "User not local; please try"). */
    S("has moved", HAS_MOVED),
    S("user not local", HAS_MOVED),
    S("mailbox moved", HAS_MOVED),
    S("address has changed", HAS_MOVED),

    /* Null MX (RFC 7505; Postfix "does not accept mail (nullMX)"). */
    S("nullmx", HOST_UNKNOWN),
    S("null mx", HOST_UNKNOWN),
    /* Domain-level words that contain user words ("non-existent"). */
    S("mx records point to non-existent", HOST_UNKNOWN),
    S2("the domain", "couldn't be found", HOST_UNKNOWN),
    S("nxdomain", HOST_UNKNOWN),
    /* The address or host takes no mail (RFC 7504 521, qmail bouncesaying). */
    S("does not accept mail", NOT_ACCEPTING_MAIL),
    S("not accepting mail", NOT_ACCEPTING_MAIL),
    S("no longer accepts mail", NOT_ACCEPTING_MAIL),
    S("no longer accepting", NOT_ACCEPTING_MAIL),
    S("accepts no mail", NOT_ACCEPTING_MAIL),
    S("does not receive mail", NOT_ACCEPTING_MAIL),
    S("does not receive email", NOT_ACCEPTING_MAIL),
    S("not receiving mail", NOT_ACCEPTING_MAIL),
    S("does not accept e-mail", NOT_ACCEPTING_MAIL),
    S("does not accept email", NOT_ACCEPTING_MAIL),

    /* Transient DNS failures before "host not found" (Postfix "Host not
     * found, try again", glibc "Temporary failure in name resolution"). */
    S("not found, try again", NETWORK_ERROR),
    S("temporary failure in name resolution", NETWORK_ERROR),
    S("dns query failed", NETWORK_ERROR),
    S("dns lookup failed", NETWORK_ERROR),
    S("dns timeout", NETWORK_ERROR),
    S("servfail", NETWORK_ERROR),
    /* No such domain, before the user words ("domain does not exist")
     * (Postfix "Host or domain name not found", Sendmail
     * "Host unknown", Exim "Unrouteable address" / "all relevant MX records
     * point to non-existent hosts", Domino "No route found to domain",
     * OpenSMTPD "No MX found for domain"). */
    S("host not found", HOST_UNKNOWN),
    S("host unknown", HOST_UNKNOWN),
    S("unknown host", HOST_UNKNOWN),
    S("domain not found", HOST_UNKNOWN),
    S("domain name not found", HOST_UNKNOWN),
    S("no such domain", HOST_UNKNOWN),
    S("unknown domain", HOST_UNKNOWN),
    S("invalid domain", HOST_UNKNOWN),
    S("domain does not exist", HOST_UNKNOWN),
    S("domain doesn't exist", HOST_UNKNOWN),
    S("unrouteable", HOST_UNKNOWN),
    S("unroutable", HOST_UNKNOWN),
    S("no mx", HOST_UNKNOWN),
    S("no mail exchanger", HOST_UNKNOWN),
    S("no route found to domain", HOST_UNKNOWN),
    S("domain is not valid", HOST_UNKNOWN),
    S("name service error", HOST_UNKNOWN),

    /* Disabled, suspended, inactive (Gmail 5.2.1, Yahoo 554.30 "mailbox is
     * disabled", iCloud inactive, Exchange, Zimbra, Mail.ru).  Specific words:
     * Postfix's "delivery temporarily suspended" must not match. */
    S("account disabled", MAILBOX_DISABLED),
    S("account is disabled", MAILBOX_DISABLED),
    S("account has been disabled", MAILBOX_DISABLED),
    S("mailbox disabled", MAILBOX_DISABLED),
    S("mailbox is disabled", MAILBOX_DISABLED),
    S("mailbox has been disabled", MAILBOX_DISABLED),
    S("disabled mailbox", MAILBOX_DISABLED),
    S("user disabled", MAILBOX_DISABLED),
    S("is disabled", MAILBOX_DISABLED),
    S("has been disabled", MAILBOX_DISABLED),
    S("temporarily disabled", MAILBOX_DISABLED),
    S("account suspended", MAILBOX_DISABLED),
    S("account is suspended", MAILBOX_DISABLED),
    S("account has been suspended", MAILBOX_DISABLED),
    S("mailbox suspended", MAILBOX_DISABLED),
    S("user suspended", MAILBOX_DISABLED),
    S("suspended account", MAILBOX_DISABLED),
    S("been suspended", MAILBOX_DISABLED),
    S("is suspended", MAILBOX_DISABLED),
    S("inactive", MAILBOX_DISABLED),
    S("deactivated", MAILBOX_DISABLED),
    S("account locked", MAILBOX_DISABLED),
    S("account is locked", MAILBOX_DISABLED),
    S("mailbox locked", MAILBOX_DISABLED),
    S("account expired", MAILBOX_DISABLED),
    S("account has expired", MAILBOX_DISABLED),
    S("discontinued", MAILBOX_DISABLED),
    S("frozen", MAILBOX_DISABLED),

    /* No such mailbox (Postfix, Sendmail, Exim, qmail "no mailbox here by
     * that name", Courier, Domino "not listed in", OpenSMTPD "Invalid
     * recipient", Gmail "does not exist", Yahoo "doesn't have a ... account",
     * AT&T "Addressee unknown", Mimecast "Invalid Recipient", Barracuda
     * cuda_nsu, SES suppression, German/French/Spanish/Italian). */
    S("user unknown", USER_UNKNOWN),
    S("unknown user", USER_UNKNOWN),
    S("no such user", USER_UNKNOWN),
    S("user not found", USER_UNKNOWN),
    S("user not known", USER_UNKNOWN),
    S("user doesn't exist", USER_UNKNOWN),
    S("user does not exist", USER_UNKNOWN),
    S("recipient not found", USER_UNKNOWN),
    S("recipient unknown", USER_UNKNOWN),
    S("unknown recipient", USER_UNKNOWN),
    S("invalid recipient", USER_UNKNOWN),
    S("no such recipient", USER_UNKNOWN),
    S("no such mailbox", USER_UNKNOWN),
    S("no such address", USER_UNKNOWN),
    S("no such account", USER_UNKNOWN),
    S("mailbox not found", USER_UNKNOWN),
    S("mailbox does not exist", USER_UNKNOWN),
    S("mailbox unknown", USER_UNKNOWN),
    S("unknown mailbox", USER_UNKNOWN),
    S("invalid mailbox", USER_UNKNOWN),
    S("not a valid mailbox", USER_UNKNOWN),
    S("no mailbox", USER_UNKNOWN),
    S("addressee unknown", USER_UNKNOWN),
    S("address unknown", USER_UNKNOWN),
    S("unknown address", USER_UNKNOWN),
    S("unknown local part", USER_UNKNOWN),
    S("unknown or illegal alias", USER_UNKNOWN),
    S("bad destination mailbox", USER_UNKNOWN),
    S("address does not exist", USER_UNKNOWN),
    S("account does not exist", USER_UNKNOWN),
    S2("doesn't have a", "account", USER_UNKNOWN),
    S("does not have an account", USER_UNKNOWN),
    S("doesn't have an account", USER_UNKNOWN),
    S("not listed in", USER_UNKNOWN),
    S("not our customer", USER_UNKNOWN),
    S("not our user", USER_UNKNOWN),
    S("no account by that name", USER_UNKNOWN),
    S("recipient was not found", USER_UNKNOWN),
    S("no such person", USER_UNKNOWN),
    S("no longer available", USER_UNKNOWN),
    S("no longer valid", USER_UNKNOWN),
    S("account has been deleted", USER_UNKNOWN),
    S("address rejected: undeliverable", USER_UNKNOWN),
    S("recipient address rejected: undeliverable address", USER_UNKNOWN),
    S("bad recipient address syntax", USER_UNKNOWN),
    S("history of bouncing", USER_UNKNOWN),
    S("nosuchuser", USER_UNKNOWN),
    S("non-existent", USER_UNKNOWN),
    S("nonexistent", USER_UNKNOWN),
    S("does not exist", USER_UNKNOWN),
    S("doesn't exist", USER_UNKNOWN),
    S("unbekannt", USER_UNKNOWN),
    S("existiert nicht", USER_UNKNOWN),
    S("n'existe pas", USER_UNKNOWN),
    S("no existe", USER_UNKNOWN),
    S("inesistente", USER_UNKNOWN),
    S("utente sconosciuto", USER_UNKNOWN),

    /* Queue lifetime (Exim "retry timeout exceeded", Sendmail "Cannot send
     * message for 5 days", Exchange 5.4.300/4.4.7, OpenSMTPD "Envelope
     * expired", Domino message expiration). */
    S("retry timeout exceeded", EXPIRED),
    S("retry time not reached", EXPIRED),
    S("delivery time expired", EXPIRED),
    S("message expired", EXPIRED),
    S("envelope expired", EXPIRED),
    S("cannot send message for", EXPIRED),
    S("could not be delivered for", EXPIRED),
    S("too long in queue", EXPIRED),
    S("queue lifetime", EXPIRED),
    S("maximal_queue_lifetime", EXPIRED),
    S("has expired", EXPIRED),
    S("expired", EXPIRED),
    S("giving up", EXPIRED),

    /* Network (Postfix connect/lost connection/conversation timed out,
     * Sendmail "Deferred: Connection refused by", TLS handshakes). */
    S("connection refused", NETWORK_ERROR),
    S("connection timed out", NETWORK_ERROR),
    S("connection reset", NETWORK_ERROR),
    S("connection closed", NETWORK_ERROR),
    S("connection dropped", NETWORK_ERROR),
    S("lost connection", NETWORK_ERROR),
    S("timed out", NETWORK_ERROR),
    S("~timeout", NETWORK_ERROR),
    S("no route to host", NETWORK_ERROR),
    S("network is unreachable", NETWORK_ERROR),
    S("host is unreachable", NETWORK_ERROR),
    S("unreachable", NETWORK_ERROR),
    S("could not connect", NETWORK_ERROR),
    S("couldn't connect", NETWORK_ERROR),
    S("unable to connect", NETWORK_ERROR),
    S("cannot connect", NETWORK_ERROR),
    S("failed to connect", NETWORK_ERROR),
    S("broken pipe", NETWORK_ERROR),
    S("handshake fail", NETWORK_ERROR),
    S("cannot start tls", NETWORK_ERROR),
    S("certificate verif", NETWORK_ERROR),
    S("no answer from host", NETWORK_ERROR),
    S("network error", NETWORK_ERROR),

    /* Reputation and block lists (Spamhaus, Spamcop, Barracuda BRBL,
     * SORBS, UCEPROTECT, Proofpoint PDR and ipcheck, Cisco SenderBase,
     * Outlook "S3150 block list" / SC-00x / DY-001, 5.7.606 "banned sending
     * IP", 5.7.708, Yahoo "Connections will not be accepted", Comcast,
     * GMX "block listed", Zoho "unusual sending activity"). */
    S("blocked using", BLOCKED),
    S("blacklist", BLOCKED),
    S("black list", BLOCKED),
    S("blocklist", BLOCKED),
    S("block list", BLOCKED),
    S("denylist", BLOCKED),
    S("~rbl", BLOCKED),
    S("dnsbl", BLOCKED),
    S("~pbl", BLOCKED),
    S("~sbl", BLOCKED),
    S("~xbl", BLOCKED),
    S("spamhaus", BLOCKED),
    S("spamcop", BLOCKED),
    S("barracuda", BLOCKED),
    S("sorbs", BLOCKED),
    S("uceprotect", BLOCKED),
    S("ipcheck.proofpoint", BLOCKED),
    S("senderbase", BLOCKED),
    S("reputation", BLOCKED),
    S("banned sending ip", BLOCKED),
    S("banned sender", BLOCKED),
    S("not accepted from this ip", BLOCKED),
    S("connections will not be accepted", BLOCKED),
    S("connection not accepted", BLOCKED),
    S("not authorized to send email directly", BLOCKED),
    S("dynamic ip", BLOCKED),
    S("dial-up", BLOCKED),
    S("dialup", BLOCKED),
    S("residential", BLOCKED),
    S("listed in", BLOCKED),
    S("listed on", BLOCKED),
    S("is listed", BLOCKED),
    S("client host rejected", BLOCKED),
    S("ip address blocked", BLOCKED),
    S("ip blocked", BLOCKED),
    S("your ip", BLOCKED),
    S("sc-00", BLOCKED),
    S("dy-001", BLOCKED),
    S("unusual sending activity", BLOCKED),
    S("unusual activity", BLOCKED),
    S("exceeded threshold", BLOCKED),
    S("sender address blocked", BLOCKED),

    /* Rate (Gmail 4.2.1 "receiving mail too quickly", iCloud "excessive
     * volume", Exchange "maximum number of concurrent connections",
     * Outlook 4.7.650 "rate limited", greylisting everywhere). */
    S("rate limit", RATE_LIMITED),
    S("rate-limit", RATE_LIMITED),
    S("ratelimit", RATE_LIMITED),
    S("overlimit", RATE_LIMITED),
    S("too many connections", RATE_LIMITED),
    S("too many concurrent", RATE_LIMITED),
    S("concurrent connections", RATE_LIMITED),
    S("connection limit", RATE_LIMITED),
    S("too many sessions", RATE_LIMITED),
    S("too quickly", RATE_LIMITED),
    S("too fast", RATE_LIMITED),
    S("receiving mail at a rate", RATE_LIMITED),
    S("excessive volume", RATE_LIMITED),
    S("too many messages", RATE_LIMITED),
    S("too many mails", RATE_LIMITED),
    S("throttl", RATE_LIMITED),
    S("slow down", RATE_LIMITED),
    S("greylist", RATE_LIMITED),
    S("graylist", RATE_LIMITED),
    S("grey-list", RATE_LIMITED),
    S("gray-list", RATE_LIMITED),

    /* Content and spam filters (SpamAssassin, Proofpoint, Mimecast,
     * Barracuda, Cisco, Gmail "content presents a potential security
     * issue", Outlook 5.7.350 and 5.7.512 RFC 5322, Gmail "From: header"). */
    S("spam", CONTENT_REJECTED),
    S("junk", CONTENT_REJECTED),
    S("unsolicited", CONTENT_REJECTED),
    S("bulk mail", CONTENT_REJECTED),
    S("uribl", CONTENT_REJECTED),
    S("surbl", CONTENT_REJECTED),
    S("content", CONTENT_REJECTED),
    S("attachment", CONTENT_REJECTED),
    S("phish", CONTENT_REJECTED),
    S("suspicious", CONTENT_REJECTED),
    S("rfc 5322", CONTENT_REJECTED),
    S("rfc5322", CONTENT_REJECTED),
    S("rfc 2822", CONTENT_REJECTED),
    S("rfc2822", CONTENT_REJECTED),
    S("from: header", CONTENT_REJECTED),
    S("message header", CONTENT_REJECTED),
    S("8bit", CONTENT_REJECTED),
    S("filtered", CONTENT_REJECTED),
    S("high score", CONTENT_REJECTED),

    /* Protocol (RFC 5321 500-504 texts, Postfix, Gmail 5.5.x). */
    S("syntax error", SYNTAX_ERROR),
    S("command unrecognized", SYNTAX_ERROR),
    S("unrecognized command", SYNTAX_ERROR),
    S("command not recognized", SYNTAX_ERROR),
    S("bad sequence of commands", SYNTAX_ERROR),
    S("invalid command", SYNTAX_ERROR),
    S("line too long", SYNTAX_ERROR),
    S("protocol error", SYNTAX_ERROR),
    S("protocol violation", SYNTAX_ERROR),
    S("pipelining", SYNTAX_ERROR),
    S("bare lf", SYNTAX_ERROR),
    S("bare <lf>", SYNTAX_ERROR),

    /* The receiving system (loops, disk, config, local delivery agents). */
    S("mail loop", SYSTEM_ERROR),
    S("loops back to myself", SYSTEM_ERROR),
    S("forwarding loop", SYSTEM_ERROR),
    S("routing loop", SYSTEM_ERROR),
    S("loop detected", SYSTEM_ERROR),
    S("too many hops", SYSTEM_ERROR),
    S("hop count exceeded", SYSTEM_ERROR),
    S("~hops", SYSTEM_ERROR),
    S("internal error", SYSTEM_ERROR),
    S("local error", SYSTEM_ERROR),
    S("system error", SYSTEM_ERROR),
    S("server error", SYSTEM_ERROR),
    S("internal server", SYSTEM_ERROR),
    S("insufficient system storage", SYSTEM_ERROR),
    S("insufficient disk space", SYSTEM_ERROR),
    S("disk full", SYSTEM_ERROR),
    S("no space left", SYSTEM_ERROR),
    S("out of memory", SYSTEM_ERROR),
    S("mail system full", SYSTEM_ERROR),
    S("command died", SYSTEM_ERROR),
    S("command time limit", SYSTEM_ERROR),
    S("configuration error", SYSTEM_ERROR),
    S("misconfigured", SYSTEM_ERROR),
    S("resources temporarily unavailable", SYSTEM_ERROR),
    S("temporary system problem", SYSTEM_ERROR),
    S("temporary server error", SYSTEM_ERROR),
    S("temporarily rejected", SYSTEM_ERROR),
    S("temporary local problem", SYSTEM_ERROR),
    S("wrong office 365 region", SYSTEM_ERROR),

    /* Policy (Gmail gcdp "violates ... email policy", Yahoo 5.7.9 "policy
     * reasons", iCloud CS01/HM08 "local policy", Mimecast "security
     * policies", Exim "Administrative prohibition", OpenSMTPD "Delivery not
     * authorized", Outlook 5.7.703 tenant block list, Gmail "whitelist"). */
    S("policy", POLICY_VIOLATION),
    S("policies", POLICY_VIOLATION),
    S("administrative prohibition", POLICY_VIOLATION),
    S("prohibited", POLICY_VIOLATION),
    S("not authorized", POLICY_VIOLATION),
    S("not authorised", POLICY_VIOLATION),
    S("whitelist", POLICY_VIOLATION),
    S("allowlist", POLICY_VIOLATION),
    S("helo command rejected", POLICY_VIOLATION),
    S("ehlo command rejected", POLICY_VIOLATION),
    S("envelope blocked", POLICY_VIOLATION),

    /* Weak words: over a generic status only. */
    /* "501 5.1.7 Invalid address" is the sender's: the status decides. */
    W("invalid address", USER_UNKNOWN),
    W("address is invalid", USER_UNKNOWN),
    W("address not valid", USER_UNKNOWN),
    W("quota", MAILBOX_FULL),
    /* 530 5.7.0 "Authentication required": a submission server refusing to relay for us. */
    W("authentication required", RELAYING_DENIED),
    W("blocked", BLOCKED),
    W("temporarily deferred", BLOCKED),
    W("access denied", POLICY_VIOLATION),
    W("denied", POLICY_VIOLATION),
    W("not allowed", POLICY_VIOLATION),
    W("not permitted", POLICY_VIOLATION),
    W("refused", POLICY_VIOLATION),
    W("server busy", SYSTEM_ERROR),
    W("service unavailable", SYSTEM_ERROR),
    W("service not available", SYSTEM_ERROR),

    /* Hints: RFC 5321's stock 550 text is mostly sent for unknown users
     * (Outlook.com "550 5.5.0 ... mailbox unavailable", GMX, IMail). */
    H("mailbox unavailable", 550, 559, USER_UNKNOWN),
    H("mailbox not available", 550, 559, USER_UNKNOWN),
    H("mailbox currently unavailable", 550, 559, USER_UNKNOWN),
    H("no valid recipients", 550, 559, USER_UNKNOWN),
    H("recipient rejected", 550, 559, USER_UNKNOWN),
    H("address rejected", 550, 559, USER_UNKNOWN),
    H("try again later", 0, 0, SYSTEM_ERROR),
    H("temporary failure", 0, 0, SYSTEM_ERROR),
    H("temporarily unavailable", 0, 0, SYSTEM_ERROR),
};

#undef S
#undef S2
#undef SST
#undef W
#undef H

/* ---- the status rules ------------------------------------------------------------ */

typedef struct {
    unsigned char cls;        /* 4 or 5; 0: either */
    short subject;
    short detail_min, detail_max;
    bounce_reason_t reason;
    unsigned char specific;   /* 1: decides over weak text; 0: generic */
} status_rule_t;

#define SP(s, d, r) { 0, s, d, d, BOUNCE_##r, 1 }
#define SR(s, lo, hi, r) { 0, s, lo, hi, BOUNCE_##r, 1 }
#define GE(s, d, r) { 0, s, d, d, BOUNCE_##r, 0 }
#define GR(s, lo, hi, r) { 0, s, lo, hi, BOUNCE_##r, 0 }

static const status_rule_t status_rules[] = {
    /* X.1 addressing (RFC 3463, RFC 7505) */
    SP(1, 1, USER_UNKNOWN),
    SP(1, 2, HOST_UNKNOWN),
    SP(1, 3, USER_UNKNOWN),
    SP(1, 4, USER_UNKNOWN),
    SP(1, 6, HAS_MOVED),
    SP(1, 7, SENDER_REJECTED),
    SP(1, 8, SENDER_REJECTED),
    SP(1, 10, HOST_UNKNOWN),
    /* X.2 mailbox */
    GE(2, 1, MAILBOX_DISABLED),
    SP(2, 2, MAILBOX_FULL),
    SP(2, 3, MESSAGE_TOO_BIG),
    GE(2, 4, SYSTEM_ERROR),
    SR(2, 121, 122, QUOTA_EXCEEDED), /* Exchange recipient rate limits */
    /* X.3 mail system */
    GE(3, 0, SYSTEM_ERROR),
    GE(3, 1, SYSTEM_ERROR),
    GE(3, 2, SYSTEM_ERROR),
    GE(3, 3, SYSTEM_ERROR),
    SP(3, 4, MESSAGE_TOO_BIG),
    GE(3, 5, SYSTEM_ERROR),
    /* X.4 network and routing */
    GE(4, 0, NETWORK_ERROR),
    GE(4, 1, NETWORK_ERROR),
    GE(4, 2, NETWORK_ERROR),
    GE(4, 3, NETWORK_ERROR),
    GE(4, 4, HOST_UNKNOWN),
    GE(4, 5, SYSTEM_ERROR),
    GE(4, 6, SYSTEM_ERROR),
    SP(4, 7, EXPIRED),
    GR(4, 300, 399, EXPIRED), /* Exchange 5.4.300 "Message expired", 5.4.316 ... */
    /* X.5 protocol */
    GE(5, 1, SYNTAX_ERROR),
    GE(5, 2, SYNTAX_ERROR),
    SP(5, 3, QUOTA_EXCEEDED),
    GE(5, 4, SYNTAX_ERROR),
    GE(5, 5, SYNTAX_ERROR),
    GE(5, 6, SYNTAX_ERROR),
    /* X.6 content */
    GR(6, 0, 999, CONTENT_REJECTED),
    /* X.7 security and policy (RFC 3463, RFC 5248 registry, RFC 7372) */
    GE(7, 1, POLICY_VIOLATION),
    GE(7, 2, POLICY_VIOLATION),
    GE(7, 3, POLICY_VIOLATION),
    GE(7, 4, TLS_REQUIRED),
    GE(7, 5, POLICY_VIOLATION),
    GE(7, 6, POLICY_VIOLATION),
    GE(7, 7, POLICY_VIOLATION),
    SP(7, 8, AUTH_FAILURE),
    SP(7, 9, AUTH_FAILURE),
    SP(7, 10, TLS_REQUIRED),
    SP(7, 11, TLS_REQUIRED),
    GE(7, 12, AUTH_FAILURE),
    GE(7, 13, AUTH_FAILURE),
    GE(7, 14, AUTH_FAILURE),
    GE(7, 15, POLICY_VIOLATION),
    SP(7, 16, MESSAGE_TOO_BIG),
    SP(7, 17, USER_UNKNOWN),  /* RFC 7293: mailbox owner has changed */
    SP(7, 18, USER_UNKNOWN),  /* domain owner has changed */
    GE(7, 19, SYSTEM_ERROR),
    SR(7, 20, 24, AUTH_FAILURE),  /* RFC 7372 DKIM and SPF */
    SP(7, 25, NO_PTR),            /* reverse DNS validation failed */
    SP(7, 26, AUTH_FAILURE),      /* multiple authentication checks failed */
    SP(7, 27, SENDER_REJECTED),   /* sender address has null MX */
    SP(7, 28, RATE_LIMITED),      /* mail flood detected */
    SP(7, 29, AUTH_FAILURE),      /* ARC validation failure */
    SP(7, 30, TLS_REQUIRED),      /* REQUIRETLS support required */
    /* Microsoft's documented codes */
    SP(7, 57, RELAYING_DENIED),   /* client was not authenticated to send anonymous mail */
    SP(7, 64, RELAYING_DENIED),   /* TenantAttribution; Relay Access Denied */
    SP(7, 54, RELAYING_DENIED),   /* unable to relay recipient in non-accepted domain */
    SP(7, 350, CONTENT_REJECTED), /* remote server returned message detected as spam */
    SP(7, 509, AUTH_FAILURE),     /* sending domain does not pass DMARC */
    SP(7, 515, AUTH_FAILURE),     /* required authentication level */
    SP(7, 512, CONTENT_REJECTED), /* RFC 5322 3.6.2 compliant */
    SR(7, 500, 699, BLOCKED),     /* 5.7.5xx/6xx access denied, banned IP */
    SP(7, 703, POLICY_VIOLATION), /* tenant allow/block list */
    SR(7, 700, 750, BLOCKED),     /* 5.7.705/708/750 tenant or IP blocked */
    SR(7, 100, 199, POLICY_VIOLATION), /* RESOLVER.RST restrictions */
    /* Fallbacks by subject (RFC 3463: report the subject when the detail
     * is unknown). */
    GR(1, 0, 999, UNDETERMINED),
    GR(2, 0, 999, UNDETERMINED),
    GR(3, 6, 999, SYSTEM_ERROR),
    GR(4, 8, 999, NETWORK_ERROR),
    GR(5, 7, 999, SYNTAX_ERROR),
};

#undef SP
#undef SR
#undef GE
#undef GR

/* ---- the code rules (RFC 5321, RFC 7504) ------------------------------------------- */

typedef struct {
    short min, max;
    bounce_reason_t reason;
} code_rule_t;

static const code_rule_t code_rules[] = {
    { 421, 421, BOUNCE_SYSTEM_ERROR },       /* service not available, closing channel */
    { 451, 451, BOUNCE_SYSTEM_ERROR },       /* local error in processing */
    { 452, 452, BOUNCE_SYSTEM_ERROR },       /* insufficient system storage */
    { 500, 504, BOUNCE_SYNTAX_ERROR },       /* syntax, command not implemented */
    { 521, 521, BOUNCE_NOT_ACCEPTING_MAIL }, /* host does not accept mail */
    { 535, 535, BOUNCE_AUTH_FAILURE },       /* authentication credentials invalid */
    { 551, 551, BOUNCE_HAS_MOVED },          /* user not local; please try */
    { 552, 552, BOUNCE_MAILBOX_FULL },       /* exceeded storage allocation */
    { 555, 555, BOUNCE_SYNTAX_ERROR },       /* MAIL/RCPT parameters not recognized */
    { 556, 556, BOUNCE_HOST_UNKNOWN },       /* domain does not accept mail (null MX) */
};

/* ---- parsing ------------------------------------------------------------------------ */

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads "C.S.D" at s (class 4 or 5, subject 0..7, 1-3 digit parts).
 * Returns its length or 0; *cls, *subject, *detail set on success. */
static size_t
parse_status(const char *s, int *cls, int *subject, int *detail)
{
    if ((s[0] != '4' && s[0] != '5' && s[0] != '2') || s[1] != '.')
        return 0;
    size_t i = 2;
    int parts[2] = { 0, 0 };
    for (int k = 0; k < 2; k++) {
        size_t start = i;
        while (is_digit((unsigned char)s[i]) && i - start < 4)
            parts[k] = parts[k] * 10 + (s[i++] - '0');
        if (i == start || i - start > 3)
            return 0;
        if (k == 0) {
            if (s[i] != '.')
                return 0;
            i++;
        }
    }
    if (parts[0] > 7)
        return 0;
    *cls = s[0] - '0';
    *subject = parts[0];
    *detail = parts[1];
    return i;
}

/* A status at text+i with nothing number-like glued to either side. */
static size_t
status_at(const char *text, size_t i, int *cls, int *subject, int *detail)
{
    if (i > 0) {
        unsigned char b = (unsigned char)text[i - 1];
        if (is_alnum(b) || b == '.')
            return 0;
    }
    size_t n = parse_status(text + i, cls, subject, detail);
    if (n == 0)
        return 0;
    unsigned char a = (unsigned char)text[i + n];
    if (is_alnum(a) || (a == '.' && is_digit((unsigned char)text[i + n + 1])))
        return 0;
    return n;
}

/* An SMTP failure code (4xx/5xx, second digit 0-5) at text+i, as a reply
 * starts: after a separator, followed by a space, '-' or the end. */
static int
code_at(const char *text, size_t i)
{
    const char *p = text + i;
    if ((p[0] != '4' && p[0] != '5') || p[1] < '0' || p[1] > '5' || !is_digit((unsigned char)p[2]))
        return 0;
    if (i > 0) {
        unsigned char b = (unsigned char)p[-1];
        if (!(b == ' ' || b == '\t' || b == ':' || b == ';' || b == '(' || b == '[' || b == '"' || b == '\'' ||
              b == '<' || b == '>' || b == '#' || b == '\n' || b == '\r'))
            return 0;
    }
    unsigned char a = (unsigned char)p[3];
    if (!(a == '\0' || a == ' ' || a == '-' || a == '\t' || a == '\r' || a == '\n' || a == ')' || a == ','))
        return 0;
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

#define EXTRACT_SCAN_MAX (64 * 1024)

long
bounce_class_extract(const char *text, int *code, char status[BOUNCE_STATUS_MAX])
{
    *code = 0;
    status[0] = '\0';
    if (text == NULL)
        return -1;
    int cls, subject, detail;
    long first_code_at = -1;
    int first_code = 0;
    long first_status_at = -1;
    size_t first_status_len = 0;
    for (size_t i = 0; text[i] != '\0' && i < EXTRACT_SCAN_MAX; i++) {
        int c = code_at(text, i);
        if (c != 0) {
            /* "550 5.1.1", "550-5.1.1", "550 #5.1.1" */
            size_t j = i + 3;
            if (text[j] == ' ' || text[j] == '-')
                j++;
            while (text[j] == ' ')
                j++;
            if (text[j] == '#')
                j++;
            size_t n = parse_status(text + j, &cls, &subject, &detail);
            if (n > 0 && cls == c / 100 && !is_digit((unsigned char)text[j + n]) &&
                !(text[j + n] == '.' && is_digit((unsigned char)text[j + n + 1]))) {
                *code = c;
                memcpy(status, text + j, n < BOUNCE_STATUS_MAX ? n : BOUNCE_STATUS_MAX - 1);
                status[n < BOUNCE_STATUS_MAX ? n : BOUNCE_STATUS_MAX - 1] = '\0';
                return (long)i;
            }
            if (first_code_at < 0) {
                first_code_at = (long)i;
                first_code = c;
            }
        }
        if (first_status_at < 0 && (text[i] == '4' || text[i] == '5')) {
            size_t n = status_at(text, i, &cls, &subject, &detail);
            if (n > 0) {
                first_status_at = (long)i;
                first_status_len = n;
            }
        }
    }
    if (first_status_at >= 0) {
        size_t n = first_status_len < BOUNCE_STATUS_MAX ? first_status_len : BOUNCE_STATUS_MAX - 1;
        memcpy(status, text + first_status_at, n);
        status[n] = '\0';
    }
    if (first_code_at >= 0) {
        *code = first_code;
        return first_code_at;
    }
    return first_status_at;
}

/* ---- matching ------------------------------------------------------------------------- */

/* The text as rules see it: lower case ASCII, control bytes and runs of
 * white space as one space, <...> holding an address blanked (an address
 * such as <spam-reports@x> must not read as words). */
static size_t
normalise(const char *text, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; text[i] != '\0' && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '<') {
            size_t k = i + 1;
            int at = 0;
            while (text[k] != '\0' && text[k] != '>' && text[k] != '<' && k - i < 512) {
                if (text[k] == '@')
                    at = 1;
                k++;
            }
            if (at && text[k] == '>') {
                i = k;
                c = ' ';
            }
        }
        if (c < 0x20 || c == 0x7f)
            c = ' ';
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c == ' ' && (o == 0 || out[o - 1] == ' '))
            continue;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    /* A bare address (bob@antivirus.example) is not words either. */
    size_t t = 0;
    while (t < o) {
        size_t e = t;
        int at = 0;
        while (e < o && strchr(" :;,()[]\"'", out[e]) == NULL) {
            if (out[e] == '@')
                at = 1;
            e++;
        }
        if (at)
            memset(out + t, ' ', e - t);
        t = e + 1;
    }
    return o;
}

/* needle in hay; a leading '~' asks for non-alphanumeric neighbours. */
static int
contains(const char *hay, const char *needle)
{
    if (needle[0] != '~')
        return strstr(hay, needle) != NULL;
    needle++;
    size_t n = strlen(needle);
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        if ((p == hay || !is_alnum((unsigned char)p[-1])) && !is_alnum((unsigned char)p[n]))
            return 1;
    }
    return 0;
}

static int
status_has_prefix(const char *status, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(status, prefix, n) != 0)
        return 0;
    return prefix[n - 1] == '.' || status[n] == '\0' || status[n] == '.';
}

static const status_rule_t *
match_status(int cls, int subject, int detail)
{
    for (size_t i = 0; i < sizeof(status_rules) / sizeof(status_rules[0]); i++) {
        const status_rule_t *r = &status_rules[i];
        if ((r->cls == 0 || r->cls == cls) && r->subject == subject && detail >= r->detail_min &&
            detail <= r->detail_max)
            return r;
    }
    return NULL;
}

/* Keep the text from the reply on when what precedes it is a preamble
 * ("host mx.example[192.0.2.1] said: ", "smtp; ", "... returned was: "),
 * so that host names never read as words. */
static const char *
reply_part(const char *text, long at)
{
    if (at <= 0)
        return text;
    long k = at - 1;
    while (k >= 0 && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r' || text[k] == '\n'))
        k--;
    if (k >= 0 && (text[k] == ':' || text[k] == ';'))
        return text + at;
    return text;
}

void
bounce_classify(const char *status, int code, const char *text, const char *action, bounce_class_t *out)
{
    memset(out, 0, sizeof(*out));
    out->decided_by = "none";

    /* The status and code: given, else found in the text. */
    int xcode = 0;
    char xstatus[BOUNCE_STATUS_MAX];
    long reply_at = bounce_class_extract(text, &xcode, xstatus);
    int cls = 0, subject = 0, detail = 0;
    if (status != NULL) {
        while (*status == ' ' || *status == '\t')
            status++;
        size_t n = parse_status(status, &cls, &subject, &detail);
        if (n > 0 && n < BOUNCE_STATUS_MAX && !is_digit((unsigned char)status[n])) {
            memcpy(out->status, status, n);
            out->status[n] = '\0';
        } else
            cls = 0;
    }
    if (cls == 0 && xstatus[0] != '\0' && parse_status(xstatus, &cls, &subject, &detail) > 0)
        memcpy(out->status, xstatus, sizeof(out->status));
    if (cls == 2) { /* a success status on a failure says nothing */
        cls = 0;
        out->status[0] = '\0';
    }
    if (code < 400 || code > 599)
        code = 0;
    if (code == 0)
        code = xcode;
    out->code = code;

    /* Text rules: the first match of each tier. */
    const text_rule_t *by_tier[4] = { NULL, NULL, NULL, NULL };
    if (text != NULL) {
        char buf[BOUNCE_TEXT_MAX + 1];
        normalise(reply_part(text, reply_at), buf, sizeof(buf));
        for (size_t i = 0; i < sizeof(text_rules) / sizeof(text_rules[0]); i++) {
            const text_rule_t *r = &text_rules[i];
            if (by_tier[r->tier] != NULL)
                continue;
            if (r->status != NULL && (cls == 0 || !status_has_prefix(out->status, r->status)))
                continue;
            if (r->code_min != 0 && (code < r->code_min || code > r->code_max))
                continue;
            if (!contains(buf, r->needle) || (r->needle2 != NULL && !contains(buf, r->needle2)))
                continue;
            by_tier[r->tier] = r;
            if (r->tier == TIER_STRONG)
                break;
        }
    }
    const status_rule_t *sr = cls != 0 ? match_status(cls, subject, detail) : NULL;
    if (sr != NULL && sr->reason == BOUNCE_UNDETERMINED)
        sr = NULL;

    bounce_reason_t reason = BOUNCE_UNDETERMINED;
    if (by_tier[TIER_STRONG] != NULL) {
        reason = by_tier[TIER_STRONG]->reason;
        out->decided_by = "text";
    } else if (sr != NULL && sr->specific) {
        reason = sr->reason;
        out->decided_by = "status";
    } else if (by_tier[TIER_WEAK] != NULL) {
        reason = by_tier[TIER_WEAK]->reason;
        out->decided_by = "text";
    } else if (sr != NULL) {
        reason = sr->reason;
        out->decided_by = "status";
    } else if (by_tier[TIER_HINT] != NULL) {
        reason = by_tier[TIER_HINT]->reason;
        out->decided_by = "text";
    } else if (code != 0) {
        for (size_t i = 0; i < sizeof(code_rules) / sizeof(code_rules[0]); i++)
            if (code >= code_rules[i].min && code <= code_rules[i].max) {
                reason = code_rules[i].reason;
                out->decided_by = "code";
                break;
            }
    }

    /* Temporary: a 4xx code or 4.x.x status, or a delayed/expired action.
     * A temporary failure that ended the delivery (expired, or failed with
     * a temporary code: the queue lifetime ran out) is "expired" unless a
     * more specific reason than a network or system error is known. */
    int act_delayed = action != NULL && strcasecmp(action, "delayed") == 0;
    int act_expired = action != NULL && strcasecmp(action, "expired") == 0;
    int temporary = cls == 4 || (code >= 400 && code < 500) || act_delayed || act_expired;
    int ended = act_expired || (action != NULL && strcasecmp(action, "failed") == 0);
    if (ended && temporary &&
        (reason == BOUNCE_UNDETERMINED || reason == BOUNCE_NETWORK_ERROR || reason == BOUNCE_SYSTEM_ERROR)) {
        reason = BOUNCE_EXPIRED;
        out->decided_by = "action";
    }
    out->reason = reason;
    out->type = bounce_reason_type(reason);
    if (out->type == BOUNCE_TYPE_PERMANENT && temporary)
        out->type = BOUNCE_TYPE_TRANSIENT;
}
