/*
 * track_agent.c -- the User-Agent classes.  See track_agent.h.
 */
#include "track_agent.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *needle;
    const char *agent_class;
    int machine;
} track_agent_rule_t;

/* First match wins: the machines first (a scanner may say "Chrome"). */
static const track_agent_rule_t track_agent_rules[] = {
    { "GoogleImageProxy", "image_proxy", 1 },
    { "ggpht.com", "image_proxy", 1 },
    { "YahooMailProxy", "image_proxy", 1 },
    { "Barracuda", "scanner", 1 },
    { "Mimecast", "scanner", 1 },
    { "Proofpoint", "scanner", 1 },
    { "ppops", "scanner", 1 },
    { "MessageLabs", "scanner", 1 },
    { "Symantec", "scanner", 1 },
    { "TrendMicro", "scanner", 1 },
    { "Trend Micro", "scanner", 1 },
    { "Forcepoint", "scanner", 1 },
    { "IronPort", "scanner", 1 },
    { "Sophos", "scanner", 1 },
    { "Bitdefender", "scanner", 1 },
    { "Zscaler", "scanner", 1 },
    { "FortiGuard", "scanner", 1 },
    { "SafeLinks", "scanner", 1 },
    { "Microsoft Office Protocol Discovery", "scanner", 1 },
    { "HeadlessChrome", "bot", 1 },
    { "curl/", "bot", 1 },
    { "Wget", "bot", 1 },
    { "python-", "bot", 1 },
    { "Python/", "bot", 1 },
    { "Go-http-client", "bot", 1 },
    { "libwww", "bot", 1 },
    { "okhttp", "bot", 1 },
    { "Java/", "bot", 1 },
    { "axios", "bot", 1 },
    { "node-fetch", "bot", 1 },
    { "facebookexternalhit", "bot", 1 },
    { "Slackbot", "bot", 1 },
    { "Discordbot", "bot", 1 },
    { "WhatsApp", "bot", 1 },
    { "TelegramBot", "bot", 1 },
    { "bot", "bot", 1 },
    { "crawler", "bot", 1 },
    { "spider", "bot", 1 },
    { "Outlook", "mail_client", 0 },
    { "Microsoft Office", "mail_client", 0 },
    { "Thunderbird", "mail_client", 0 },
    { "Edg/", "browser", 0 },
    { "Firefox/", "browser", 0 },
    { "Chrome/", "browser", 0 },
    { "Safari/", "browser", 0 },
    { "AppleWebKit/", "mail_client", 0 },   /* Apple Mail: WebKit, no Safari/ */
};

static int
track_agent_has(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return 1;
    return 0;
}

void
track_agent_classify(const char *user_agent, int from_machine_network, track_agent_t *out)
{
    out->agent_class = "unknown";
    out->machine = 0;
    out->reason = NULL;
    for (size_t i = 0; user_agent != NULL && i < sizeof(track_agent_rules) / sizeof(track_agent_rules[0]); i++)
        if (track_agent_has(user_agent, track_agent_rules[i].needle)) {
            out->agent_class = track_agent_rules[i].agent_class;
            out->machine = track_agent_rules[i].machine;
            out->reason = out->machine ? "user_agent" : NULL;
            break;
        }
    if (from_machine_network && !out->machine) {
        out->agent_class = "image_proxy";
        out->machine = 1;
        out->reason = "network";
    }
}
