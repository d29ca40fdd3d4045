/*
 * config.c -- the config table and its parser.
 * See config.h.  Defaults are defined once, in config_table.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "redis_addr.h"

#define OFF(field) offsetof(pi_config_t, field)

static const config_key_t config_table[] = {
    { "database", CT_STRING, "host=127.0.0.1 port=5432 dbname=postinbox user=postinbox", 0, 0, { 0 }, OFF(database),
      "libpq connection string (multi-host and target_session_attrs allowed)", CF_SECRET },
    { "migration_database", CT_STRING, "", 0, 0, { 0 }, OFF(migration_database),
      "libpq connection string postinboxctl migrate uses: the schema owner, apart from the daemons' runtime role "
      "(database), which it grants what they need; empty = database", CF_SECRET },
    { "redis", CT_REDIS, "127.0.0.1:6379", 0, 0, { 0 }, OFF(redis),
      "HOST:PORT, unix:/PATH, redis://[USER[:PASSWORD]@]HOST[:PORT], unix://[USER[:PASSWORD]@]/PATH, or "
      "sentinel:[USER[:PASSWORD]@]MASTER@HOST[:PORT],... (Redis Sentinel: the sentinels, port 26379 by default, "
      "are asked where MASTER is at every new connection) (USER: an ACL user, else the default user; "
      "percent-encode ':', '@', '/', '%' in USER and PASSWORD)", CF_SECRET },
    { "redis_password_file", CT_STRING, "", 0, 0, { 0 }, OFF(redis_password_file),
      "file whose first line is the Redis password (not readable by other users), instead of PASSWORD in "
      "redis; read at start and reload", 0 },
    { "redis_wait_replicas", CT_INT, "0", 0, 16, { 0 }, OFF(redis_wait_replicas),
      "after each reservation, WAIT until this many replicas hold it (at most half of backend_timeout_ms); "
      "one they do not confirm is given back and the mail answered as for a Redis fault; 0 = no wait", 0 },
    { "milter_socket", CT_STRING, "inet:8891@127.0.0.1", 0, 0, { 0 }, OFF(milter_socket),
      "libmilter socket: inet:PORT@HOST or unix:/path", CF_START },
    { "sandbox_domain", CT_STRING, "sandbox.postinbox.test", 0, 0, { 0 }, OFF(sandbox_domain),
      "domain of sandbox inboxes ({username}--{shortId}@sandbox_domain)", 0 },
    { "trusted_networks", CT_CIDR, "none", 0, 0, { 0 }, OFF(trusted_networks),
      "clients whose unauthenticated mail is outbound (CIDR list)", 0 },
    { "backend_timeout_ms", CT_INT, "2000", 20, 25000, { 0 }, OFF(backend_timeout_ms),
      "deadline of each PostgreSQL or Redis call, well under Postfix's milter timeouts", 0 },
    { "record_gather_us", CT_INT, "1000", 0, 10000, { 0 }, OFF(record_gather_us),
      "under load, gather end-of-message records this many microseconds into one PostgreSQL call (0: only "
      "those that queue while a call is in flight); an idle milter never waits", 0 },
    { "backend_pool_size", CT_INT, "16", 1, 512, { 0 }, OFF(backend_pool_size),
      "connections per backend kept by each process", 0 },
    { "on_backend_error", CT_ENUM, "tempfail", 0, 0, { "tempfail", "accept" }, OFF(on_backend_error),
      "what to answer when a backend fails: tempfail (451 4.3.0) or accept", 0 },
    { "unauthenticated_managed_sender", CT_ENUM, "reject", 0, 0, { "reject", "accept" },
      OFF(unauthenticated_managed_sender),
      "unauthenticated MAIL FROM an inbox address from an untrusted client", 0 },
    { "log_level", CT_LOGLEVEL, "info", 0, 0, { 0 }, OFF(log_level), "debug, info, warn or error", 0 },
    { "reservation_timeout", CT_DURATION, "900s", 1000, 86400000, { 0 }, OFF(reservation_timeout_ms),
      "a send reserved at RCPT whose message neither ended nor was aborted this long after (its milter was "
      "killed) is given back to the caps; must exceed Postfix's longest SMTP transaction (smtpd_timeout, "
      "milter_command_timeout and milter_content_timeout together); the same in every process sharing a Redis", 0 },
    { "foreign_domain_cache", CT_DURATION, "5s", 0, 3600000, { 0 }, OFF(foreign_domain_cache_ms),
      "remember domains that are not ours this long (0: look up every recipient)", 0 },
    { "parse_max_size", CT_INT, "10240000", 0, 1073741824, { 0 }, OFF(parse_max_size),
      "bytes of a message to an inbox kept for parsing bounces, complaints and MIME (0: none)", 0 },
    { "dkim_signing", CT_BOOL, "yes", 0, 0, { 0 }, OFF(dkim_signing),
      "sign outbound mail from an inbox with its domain's active DKIM key (needs secret_key_file); a domain "
      "without one tempfails its mail (451 4.3.0); no = sign nothing", 0 },
    { "dkim_key_cache", CT_DURATION, "60s", 0, 3600000, { 0 }, OFF(dkim_key_cache_ms),
      "the milter keeps a domain's opened DKIM key this long: an activated or deleted key reaches it within "
      "that, or at once on reload (0: read for every message)", 0 },
    { "dkim_key_bits", CT_INT, "2048", 1024, 4096, { 0 }, OFF(dkim_key_bits),
      "size of the RSA keys postinboxctl makes for DKIM", 0 },
    { "dkim_retire_after", CT_DURATION, "7d", 0, 365L * 86400000, { 0 }, OFF(dkim_retire_after_ms),
      "a DKIM key replaced by a rotation stays published (retired) this long, so mail signed with it verifies", 0 },
    { "dns_resolver", CT_STRING, "", 0, 0, { 0 }, OFF(dns_resolver),
      "the DNS server `domain verify` asks, ADDRESS or ADDRESS@PORT (a recursive resolver; or the domains' "
      "authoritative server); empty: the system's resolvers (/etc/resolv.conf)", 0 },
    { "dns_timeout", CT_DURATION, "5s", 100, 60000, { 0 }, OFF(dns_timeout_ms),
      "the longest a DNS question of `domain verify` waits; a record not answered by then is unknown, not missing", 0 },
    { "dns_spf", CT_STRING, "mx", 0, 0, { 0 }, OFF(dns_spf),
      "the SPF mechanisms of the hosts that send for custom domains, as `domain records` prints them: "
      "\"v=spf1 <this> ~all\" (e.g. \"ip4:192.0.2.25 include:_spf.example.net\")", 0 },
    { "dns_mx", CT_STRING, "", 0, 0, { 0 }, OFF(dns_mx),
      "the MX hosts `domain records` prints for custom domains that receive mail, space-separated, in order "
      "of preference; empty: no MX record", 0 },
    { "dns_dmarc_rua", CT_STRING, "", 0, 0, { 0 }, OFF(dns_dmarc_rua),
      "the address for DMARC aggregate reports in the DMARC record `domain records` prints (p=none); "
      "empty: none", 0 },
    { "domain_check_interval", CT_DURATION, "1h", 0, 30L * 86400000, { 0 }, OFF(domain_check_interval_ms),
      "postinbox-policyd checks every custom domain's records in DNS this often (a pending domain becomes "
      "verified once they are right, a verified one is watched); 0: no periodic check", 0 },
    { "domain_check_retry", CT_DURATION, "60s", 1000, 86400000, { 0 }, OFF(domain_check_retry_ms),
      "after a failed check the next comes this much later, doubled for each failure in a row, at most "
      "domain_check_interval", 0 },
    { "domain_check_failures", CT_INT, "3", 1, 100, { 0 }, OFF(domain_check_failures),
      "failed checks in a row (missing, invalid or unknown records) before a verified domain gets the event "
      "domain.dns_failed; it keeps sending", 0 },
    { "domain_dns_failed", CT_ENUM, "send", 0, 0, { "send", "hold" }, OFF(domain_dns_failed),
      "mail from an inbox whose domain got domain.dns_failed: send (a DNS hiccup must not stop mail) or hold "
      "(451 4.7.0 domain_held at MAIL FROM until a check passes again)", 0 },
    { "postfix_maps_role", CT_STRING, "", 0, 0, { 0 }, OFF(postfix_maps_role),
      "the PostgreSQL role of Postfix's pgsql tables (contrib/postfix/pgsql-*.cf): `postinboxctl migrate` lets it "
      "call postfix_domain() and postfix_sender_logins(), nothing else; empty: none", 0 },
    { "metrics_listen", CT_STRING, "", 0, 0, { 0 }, OFF(metrics_listen),
      "postinbox-milter's Prometheus /metrics: host:port or [v6]:port (loopback!); empty = off; read at start", CF_START },
    /* postinbox-policyd */
    { "policy_listen", CT_STRING, "", 0, 0, { 0 }, OFF(policy_listen),
      "Postfix policy service: host:port or unix:/path; empty = off", CF_START },
    { "policy_allow_networks", CT_CIDR, "127.0.0.0/8 ::1/128", 0, 0, { 0 }, OFF(policy_allow_networks),
      "clients that may use a TCP policy_listen (CIDR list); any other is closed unanswered", 0 },
    { "policy_socket_group", CT_STRING, "", 0, 0, { 0 }, OFF(policy_socket_group),
      "group of a unix:/path policy_listen socket (mode 0660), e.g. postfix; empty = the daemon's", CF_START },
    { "api_listen", CT_STRING, "", 0, 0, { 0 }, OFF(api_listen),
      "HTTP admin API: host:port or [v6]:port (e.g. 127.0.0.1:8080); empty = off", CF_START },
    { "api_max_body", CT_INT, "1048576", 1024, 67108864, { 0 }, OFF(api_max_body),
      "largest request body the API accepts, bytes (larger: 413)", CF_START },
    { "api_threads", CT_INT, "4", 1, 256, { 0 }, OFF(api_threads), "threads serving the API", CF_START },
    { "webhook_timeout", CT_DURATION, "15s", 100, 300000, { 0 }, OFF(webhook_timeout_ms),
      "deadline of one webhook request", 0 },
    { "webhook_retry_schedule", CT_DURATION_LIST, "0s,5s,5m,30m,2h,5h,10h,10h", 0, 7L * 86400000, { 0 },
      OFF(webhook_retry_schedule), "delay before each attempt; the count is the number of attempts", 0 },
    { "webhook_max_in_flight", CT_INT, "64", 1, 4096, { 0 }, OFF(webhook_max_in_flight),
      "webhook deliveries in flight at once per daemon (from the claim until the result is committed)", 0 },
    { "webhook_batch_size", CT_INT, "200", 1, 10000, { 0 }, OFF(webhook_batch_size),
      "deliveries claimed per database round trip", 0 },
    { "webhook_allow_networks", CT_CIDR_PORTS, "none", 0, 0, { 0 }, OFF(webhook_allow_networks),
      "private/loopback networks webhooks may reach anyway (CIDR list; an entry may name one port: "
      "127.0.0.1:8080, [::1]:9000, 10.0.0.0/8:443)", 0 },
    { "webhook_allow_http", CT_BOOL, "no", 0, 0, { 0 }, OFF(webhook_allow_http), "allow http:// webhook URLs", 0 },
    { "webhook_disable_after", CT_DURATION, "5d", 60000, 365L * 86400000, { 0 }, OFF(webhook_disable_after_ms),
      "disable an endpoint that has failed continuously for this long", 0 },
    { "webhook_rotation_grace", CT_DURATION, "24h", 0, 30L * 86400000, { 0 }, OFF(webhook_rotation_grace_ms),
      "after rotate-secret, sign with both secrets for this long", 0 },
    { "secret_key_file", CT_STRING, "", 0, 0, { 0 }, OFF(secret_key_file),
      "key-encryption key of the webhook signing secrets and DKIM private keys: a file of 32 random bytes as "
      "64 hex digits or base64, mode 0600 or 0640 (openssl rand -hex 32); read by postinbox-policyd, "
      "postinbox-milter and postinboxctl; empty = endpoints cannot be added or rotated, nothing is signed", 0 },
    { "secret_key_file_old", CT_STRING, "", 0, 0, { 0 }, OFF(secret_key_file_old),
      "the previous secret_key_file during a key rotation: still decrypts, never encrypts "
      "(postinboxctl webhook secrets encrypt moves every secret to the current key)", 0 },
    { "webhook_poll_interval", CT_DURATION, "5s", 100, 3600000, { 0 }, OFF(webhook_poll_interval_ms),
      "poll for due deliveries this often even without NOTIFY", 0 },
    { "postfix_log", CT_STRING, "", 0, 0, { 0 }, OFF(postfix_log),
      "Postfix log to follow for delivery status: a file (maillog_file or syslog), \"-\" = standard input, empty = off", CF_START },
    { "postfix_log_state", CT_STRING, "/var/lib/postinbox/postfix_log.state", 0, 0, { 0 }, OFF(postfix_log_state),
      "file keeping the read position in postfix_log (device, inode, offset); empty = start at the end", CF_START },
    { "deferred_events", CT_ENUM, "first", 0, 0, { "first", "every" }, OFF(deferred_events),
      "message.deferred for the first deferral of each recipient only, or for every retry", 0 },
    { "policyd_metrics_listen", CT_STRING, "", 0, 0, { 0 }, OFF(policyd_metrics_listen),
      "postinbox-policyd's Prometheus /metrics: host:port or [v6]:port (loopback!); empty = off; read at start", CF_START },
    /* opens, clicks and one-click unsubscribe (lib/mail/track_rewrite, policyd/tracking) */
    { "tracking_base_url", CT_URL, "", 0, 0, { 0 }, OFF(tracking_base_url),
      "public http(s) URL that reaches tracking_listen (e.g. https://t.example.com, behind a TLS proxy): the "
      "milter writes {tracking_base_url}/o/, /c/ and /u/ links into mail of inboxes with tracking on; empty = "
      "no message is ever rewritten, whatever the settings say", 0 },
    { "tracking_key_file", CT_STRING, "", 0, 0, { 0 }, OFF(tracking_key_file),
      "the keys of the tracking links' MACs, one per line (at least 32 characters each, e.g. openssl rand "
      "-base64 32), mode 0600 or 0640: the first signs, every line verifies (rotate by adding a new first "
      "line; drop an old one and its links answer 404); needed with tracking_base_url; read at start and reload", 0 },
    { "tracking_listen", CT_STRING, "", 0, 0, { 0 }, OFF(tracking_listen),
      "postinbox-policyd's tracking listener (/o/, /c/, /u/): host:port or [v6]:port; empty = off; read at start", CF_START },
    { "tracking_store_ip", CT_BOOL, "no", 0, 0, { 0 }, OFF(tracking_store_ip),
      "keep the client address of opens, clicks and unsubscribes (in engagement and the events); no = never "
      "stored", 0 },
    { "tracking_event_interval", CT_DURATION, "1h", 0, 30L * 86400000, { 0 }, OFF(tracking_event_interval_ms),
      "a person's later opens or clicks of one message or link are one more event at most this often (the "
      "requests in between are counted); 0 = only the first is an event", 0 },
    { "tracking_scanner_window", CT_DURATION, "10s", 0, 3600000, { 0 }, OFF(tracking_scanner_window_ms),
      "a click this soon after the message was delivered (or sent, before the log says delivered) is a "
      "security scanner's: machine true", 0 },
    { "tracking_machine_networks", CT_CIDR, "17.0.0.0/8", 0, 0, { 0 }, OFF(tracking_machine_networks),
      "clients whose requests are machines' (CIDR list; 17.0.0.0/8: Apple's Mail Privacy Protection proxies; "
      "add Apple's published egress ranges as needed); none = none", 0 },
    { "tracking_proxy_networks", CT_CIDR, "none", 0, 0, { 0 }, OFF(tracking_proxy_networks),
      "reverse proxies in front of tracking_listen (CIDR list): from these the client is the last address of "
      "X-Forwarded-For", 0 },
    { "tracking_max_size", CT_INT, "10485760", 65536, 104857600, { 0 }, OFF(tracking_max_size),
      "largest message rewritten, bytes; a larger one is sent as it is (not tracked, still signed)", 0 },
    { "tracking_max_links", CT_INT, "1000", 1, 10000, { 0 }, OFF(tracking_max_links),
      "links rewritten per message, in document order; the rest are left as they are", 0 },
    /* every HTTP listener: api_listen, metrics_listen, policyd_metrics_listen */
    { "http_request_timeout_ms", CT_INT, "15000", 1000, 300000, { 0 }, OFF(http_request_timeout_ms),
      "a request (line, headers, body) not in whole this many ms after it began is cut off, however "
      "steadily it trickles; read at start", CF_START },
    { "http_max_connections_per_ip", CT_INT, "16", 1, 256, { 0 }, OFF(http_max_connections_per_ip),
      "open connections one client address may hold on each HTTP listener; the next is refused (logged); "
      "read at start", CF_START },
    /* automatic suspension, applied where bounces and complaints are recorded */
    { "suspend_bounce_rate", CT_PERCENT, "10%", 0, 1000000, { 0 }, OFF(suspend_bounce_rate),
      "suspend an inbox whose hard bounces reach this share of its sends within suspend_window (0% = never)", 0 },
    { "suspend_complaint_rate", CT_PERCENT, "0.5%", 0, 1000000, { 0 }, OFF(suspend_complaint_rate),
      "suspend an inbox whose complaints reach this share of its sends within suspend_window (0% = never)", 0 },
    { "suspend_block_rate", CT_PERCENT, "20%", 0, 1000000, { 0 }, OFF(suspend_block_rate),
      "suspend an inbox whose refusals that blame the sender (blocked, spam, content, policy, authentication, "
      "missing PTR) reach this share of its sends within suspend_window (0% = never)", 0 },
    { "suspend_block_warn_rate", CT_PERCENT, "5%", 0, 1000000, { 0 }, OFF(suspend_block_warn_rate),
      "an inbox.reputation_warning event, once per suspend_window, when those refusals reach this share of "
      "its sends (0% = never)", 0 },
    { "suspend_window", CT_DURATION, "24h", 60000, 30L * 86400000, { 0 }, OFF(suspend_window_ms),
      "the rolling window of the bounce, complaint and block rates (whole seconds)", 0 },
    { "suspend_min_sends", CT_INT, "100", 1, 100000000, { 0 }, OFF(suspend_min_sends),
      "never suspend automatically on fewer sends than this within suspend_window", 0 },
    /* sending as an inbox through the API (lib/mail/send.c) */
    { "api_submission", CT_HOSTPORT, "127.0.0.1:25", 0, 0, { 0 }, OFF(api_submission),
      "Postfix smtpd the API and postinboxctl send submit mail to, IP:port or [IPv6]:port", 0 },
    { "api_submission_login", CT_STRING, "", 0, 0, { 0 }, OFF(api_submission_login),
      "SASL login the API and postinboxctl send authenticate with (AUTH PLAIN); the milter and the policy "
      "service let this login, and only it, send as any inbox; empty = submit without AUTH", 0 },
    { "api_submission_password_file", CT_STRING, "", 0, 0, { 0 }, OFF(api_submission_password_file),
      "file whose first line is api_submission_login's password (not readable by other users); read at each send", 0 },
    { "api_submission_timeout", CT_DURATION, "30s", 1000, 600000, { 0 }, OFF(api_submission_timeout_ms),
      "deadline of one whole submission: connect, every reply, the message data", 0 },
    { "api_helo", CT_HOSTNAME, "postinbox-api", 0, 0, { 0 }, OFF(api_helo), "the name the API gives in EHLO", 0 },
};

#define CONFIG_KEYS (sizeof(config_table) / sizeof(config_table[0]))
_Static_assert(CONFIG_KEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

const config_key_t *
config_keys(size_t *count)
{
    *count = CONFIG_KEYS;
    return config_table;
}

static int config_valid_helo(const char *name);

/* A base URL: http:// or https://, a host, then printable ASCII with no
 * space, quote, '?', '#', '<', '>' or '\\'. */
static int
config_valid_base_url(const char *v)
{
    size_t skip = strncmp(v, "https://", 8) == 0 ? 8 : strncmp(v, "http://", 7) == 0 ? 7 : 0;
    if (skip == 0 || v[skip] == '\0' || v[skip] == '/')
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("\"'?#<>\\`", *p) != NULL)
            return 0;
    return 1;
}

/* Replaces the string at field (a char * of the config, reached by its
 * offset; config_free frees it, the analyzer does not follow the offset). */
ANALYZER_NO_LEAK_BEGIN
static int
config_set_string(void *field, const char *value, char *err, size_t errlen)
{
    char *copy = strdup(value);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(*(char **)field);
    *(char **)field = copy;
    return 0;
}
ANALYZER_NO_LEAK_END

static int
config_set(pi_config_t *cfg, const config_key_t *key, const char *value, char *err, size_t errlen)
{
    void *field = (char *)cfg + key->offset;
    switch (key->type) {
    case CT_HOSTPORT:
    case CT_HOSTNAME:
    case CT_REDIS:
    case CT_URL:
    case CT_STRING: {
        char host[64];
        int port;
        if (key->type == CT_REDIS) {
            redis_addr_t addr;
            int rc = redis_addr_parse(value, &addr, err, errlen);
            redis_addr_clear(&addr);
            if (rc != 0)
                return -1;
        }
        if (key->type == CT_HOSTPORT && config_parse_hostport(value, host, sizeof(host), &port) != 0) {
            snprintf(err, errlen, "\"%s\" is not IP:port or [IPv6]:port", value);
            return -1;
        }
        if (key->type == CT_URL && *value && !config_valid_base_url(value)) {
            snprintf(err, errlen, "\"%s\" is not an http:// or https:// URL without query, fragment or spaces",
                     value);
            return -1;
        }
        if (key->type == CT_HOSTNAME && !config_valid_helo(value)) {
            snprintf(err, errlen, "\"%s\" is not a host name", value);
            return -1;
        }
        if (key->type == CT_URL) {   /* kept without its final '/'s */
            int rc = config_set_string(field, value, err, errlen);
            char *u = *(char **)field;
            for (size_t n = u ? strlen(u) : 0; rc == 0 && n > 0 && u[n - 1] == '/'; n--)
                u[n - 1] = '\0';
            return rc;
        }
        return config_set_string(field, value, err, errlen);
    }
    case CT_CIDR:
    case CT_CIDR_PORTS: {
        char cerr[128];
        cidr_list_t *list = key->type == CT_CIDR_PORTS ? cidr_list_parse_ports(value, cerr, sizeof(cerr))
                                                       : cidr_list_parse(value, cerr, sizeof(cerr));
        if (list == NULL) {
            snprintf(err, errlen, "%s", cerr);
            return -1;
        }
        cidr_list_free(*(cidr_list_t **)field);
        *(cidr_list_t **)field = list;
        return 0;
    }
    case CT_BOOL:
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            *(int *)field = 1;
            return 0;
        }
        if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            *(int *)field = 0;
            return 0;
        }
        snprintf(err, errlen, "\"%s\" is not yes|no", value);
        return -1;
    case CT_DURATION: {
        long ms = config_parse_duration_ms(value);
        if (ms < 0) {
            snprintf(err, errlen, "\"%s\" is not a duration like 500ms, 15s, 5m, 2h, 1d", value);
            return -1;
        }
        if (ms < key->min || ms > key->max) {
            snprintf(err, errlen, "%s is out of range %ldms..%ldms", value, key->min, key->max);
            return -1;
        }
        *(long *)field = ms;
        return 0;
    }
    case CT_PERCENT: {
        long ppm = config_parse_percent_ppm(value);
        if (ppm < 0) {
            snprintf(err, errlen, "\"%s\" is not a percentage like 10%% or 0.5%%", value);
            return -1;
        }
        if (ppm < key->min || ppm > key->max) {
            snprintf(err, errlen, "%s is out of range %g%%..%g%%", value, key->min / 10000.0, key->max / 10000.0);
            return -1;
        }
        *(double *)field = ppm / 1e6;
        return 0;
    }
    case CT_DURATION_LIST: {
        duration_list_t list = { 0 };
        char copy[1024], *save = NULL;
        snprintf(copy, sizeof(copy), "%s", value);
        for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
            long ms = config_parse_duration_ms(tok);
            if (ms < 0 || ms > key->max) {
                snprintf(err, errlen, "\"%s\" is not a duration up to %ldms", tok, key->max);
                return -1;
            }
            if (list.count == CONFIG_MAX_RETRIES) {
                snprintf(err, errlen, "more than %d entries", CONFIG_MAX_RETRIES);
                return -1;
            }
            list.ms[list.count++] = ms;
        }
        if (list.count == 0) {
            snprintf(err, errlen, "needs at least one delay");
            return -1;
        }
        *(duration_list_t *)field = list;
        return 0;
    }
    case CT_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0') {
            snprintf(err, errlen, "\"%s\" is not a number", value);
            return -1;
        }
        if (v < key->min || v > key->max) {
            snprintf(err, errlen, "%ld is out of range %ld..%ld", v, key->min, key->max);
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case CT_ENUM:
        for (int i = 0; i < 3 && key->choices[i]; i++) {
            if (strcmp(value, key->choices[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        }
        snprintf(err, errlen, "\"%s\" is not one of %s|%s", value, key->choices[0], key->choices[1]);
        return -1;
    case CT_LOGLEVEL:
        if (log_level_parse(value, (log_level_t *)field) == 0)
            return 0;
        snprintf(err, errlen, "\"%s\" is not debug|info|warn|error", value);
        return -1;
    }
    return -1;
}

/* An EHLO name: letters, digits, '-', '.', 1..255 characters. */
static int
config_valid_helo(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return 0;
    return 1;
}

int
config_parse_hostport(const char *text, char *host, size_t hostlen, int *port)
{
    const char *colon, *h = text;
    size_t hlen;
    unsigned char addr[sizeof(struct in6_addr)];
    char *end;
    long p;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - text);
    }
    if (hlen == 0 || hlen >= hostlen)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (inet_pton(text[0] == '[' ? AF_INET6 : AF_INET, host, addr) != 1)
        return -1;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end != '\0' || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

long
config_parse_duration_ms(const char *text)
{
    static const struct {
        const char *suffix;
        long ms;
    } units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }, { "", 1000 } };
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || v < 0 || *text == '-' || *text == '+')
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0)
            return v > LONG_MAX / units[i].ms ? -1 : v * units[i].ms;
    }
    return -1;
}

long
config_parse_percent_ppm(const char *text)
{
    long whole = 0, frac = 0;
    int digits = 0, decimals = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (whole > 1000000)
            return -1;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, decimals++) {
            if (decimals == 4)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
        if (decimals == 0)
            return -1;
    }
    if (digits == 0 || strcmp(p, "%") != 0)
        return -1;
    for (; decimals < 4; decimals++)
        frac *= 10;
    return whole * 10000 + frac;
}

/* Sets key i to value and keeps the text as written. */
static int
config_assign(pi_config_t *cfg, size_t i, const char *value, char *err, size_t errlen)
{
    if (config_set(cfg, &config_table[i], value, err, errlen) != 0)
        return -1;
    return config_set_string(&cfg->text[i], value, err, errlen);
}

pi_config_t *
config_defaults(void)
{
    char err[128];
    pi_config_t *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return NULL;
    for (size_t i = 0; i < CONFIG_KEYS; i++) {
        if (config_assign(cfg, i, config_table[i].def, err, sizeof(err)) != 0)
            abort(); /* a bad built-in default (or no memory at start) */
    }
    for (int r = 0; r < REPLY_COUNT; r++)
        reply_default((reply_id_t)r, &cfg->replies[r]);
    return cfg;
}

static char *
config_trim(char *s)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Applies one "key = value" line. */
static int
config_line(pi_config_t *cfg, char *line, char *err, size_t errlen)
{
    char *eq = strchr(line, '=');
    char *key, *value;
    if (eq == NULL) {
        snprintf(err, errlen, "expected \"key = value\"");
        return -1;
    }
    *eq = '\0';
    key = config_trim(line);
    value = config_trim(eq + 1);
    if (strncmp(key, "reply_", 6) == 0) {
        for (int r = 0; r < REPLY_COUNT; r++) {
            if (strcmp(key + 6, reply_name((reply_id_t)r)) == 0) {
                char rerr[160];
                if (reply_parse(value, &cfg->replies[r], rerr, sizeof(rerr)) == 0) {
                    cfg->set[CONFIG_KEYS + (size_t)r] = 1;
                    return 0;
                }
                snprintf(err, errlen, "%s: %s", key, rerr);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < CONFIG_KEYS; i++) {
        if (strcmp(key, config_table[i].name) == 0) {
            char verr[200];
            if (config_assign(cfg, i, value, verr, sizeof(verr)) == 0) {
                cfg->set[i] = 1;
                return 0;
            }
            snprintf(err, errlen, "%s: %s", key, verr);
            return -1;
        }
    }
    /* A key is a word; anything else may be a value missing its "key =",
     * perhaps a password, and is not repeated. */
    if (key[strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] != '\0') {
        snprintf(err, errlen, "unknown key (a key is letters, digits and '_')");
        return -1;
    }
    snprintf(err, errlen, "unknown key \"%.64s\"", key);
    return -1;
}

/* The redis key and redis_password_file together: exactly one password
 * source when a USER is named, never two. */
static int
config_check_redis(const pi_config_t *cfg, char *err, size_t errlen)
{
    redis_addr_t addr;
    int rc = 0;
    if (redis_addr_parse(cfg->redis, &addr, err, errlen) != 0)
        return -1;   /* cannot happen: config_set checked it */
    if (addr.has_password && *cfg->redis_password_file != '\0') {
        snprintf(err, errlen, "redis has a password and redis_password_file is set: give one of them");
        rc = -1;
    } else if (addr.user[0] != '\0' && !addr.has_password && *cfg->redis_password_file == '\0') {
        snprintf(err, errlen, "redis names user %s but no password: add redis_password_file (or :PASSWORD)",
                 addr.user);
        rc = -1;
    }
    redis_addr_clear(&addr);
    return rc;
}

pi_config_t *
config_parse_text(const char *text, const char *name, char *err, size_t errlen)
{
    pi_config_t *cfg = config_defaults();
    const char *p = text;
    int lineno = 0;
    if (cfg == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char buf[4096], lerr[256], *line;
        lineno++;
        if (len >= sizeof(buf)) {
            snprintf(err, errlen, "%s:%d: line too long", name, lineno);
            config_free(cfg);
            return NULL;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p += len + (nl ? 1 : 0);
        line = config_trim(buf);
        if (*line == '\0' || *line == '#')
            continue;
        if (config_line(cfg, line, lerr, sizeof(lerr)) != 0) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, lerr);
            config_free(cfg);
            return NULL;
        }
    }
    if ((*cfg->api_submission_login != '\0') != (*cfg->api_submission_password_file != '\0')) {
        snprintf(err, errlen, "%s: api_submission_login and api_submission_password_file go together", name);
        config_free(cfg);
        return NULL;
    }
    char rerr[256];
    if (config_check_redis(cfg, rerr, sizeof(rerr)) != 0) {
        snprintf(err, errlen, "%s: %s", name, rerr);
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

pi_config_t *
config_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char *text = NULL;
    size_t len = 0, cap = 0;
    pi_config_t *cfg;
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - len < 4096) {
            char *grown = realloc(text, cap + 65536);
            if (grown == NULL) {
                free(text);
                fclose(fp);
                snprintf(err, errlen, "%s: out of memory", path);
                return NULL;
            }
            text = grown;
            cap += 65536;
        }
        size_t n = fread(text + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0)
            break;
        if (len > 1024 * 1024) {
            free(text);
            fclose(fp);
            snprintf(err, errlen, "%s: file too large", path);
            return NULL;
        }
    }
    fclose(fp);
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        return NULL;
    }
    cfg = config_parse_text(text, path, err, errlen);
    free(text);
    return cfg;
}

void
config_free(pi_config_t *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < CONFIG_KEYS; i++) {
        void *field = (char *)cfg + config_table[i].offset;
        free(cfg->text[i]);
        if (config_table[i].type == CT_STRING || config_table[i].type == CT_HOSTPORT ||
            config_table[i].type == CT_HOSTNAME || config_table[i].type == CT_REDIS ||
            config_table[i].type == CT_URL)
            free(*(char **)field);
        else if (config_table[i].type == CT_CIDR || config_table[i].type == CT_CIDR_PORTS)
            cidr_list_free(*(cidr_list_t **)field);
    }
    free(cfg);
}
