/*
 * track_agent.h -- who asked for a tracking URL: a person's mail client
 * or browser, or a machine that fetches every image or link by itself.
 *
 * Public: track_agent_t, track_agent_classify.
 * From the User-Agent alone, by needles (case-insensitive) in one table:
 *   image_proxy  Gmail's image proxy (GoogleImageProxy, ggpht.com), Yahoo
 *                Mail's (YahooMailProxy): they fetch images for the
 *                reader, often ahead of the reading -- machine
 *   scanner      security gateways that open every link of a message on
 *                arrival (Barracuda, Mimecast, Proofpoint, Microsoft's
 *                Safe Links, ...) -- machine
 *   bot          HTTP libraries, command-line clients, crawlers, link
 *                previewers (curl, python-requests, Go-http-client, ...)
 *                -- machine
 *   mail_client  Outlook, Thunderbird, Apple Mail (a WebKit without Safari)
 *   browser      the major browsers
 *   unknown      anything else, an empty or missing User-Agent included
 * A request from tracking_machine_networks (Apple's Mail Privacy
 * Protection proxies send a bare "Mozilla/5.0") is a machine's whatever
 * it says: class image_proxy, reason network.  The caller adds its own
 * rule of time (a click within tracking_scanner_window of delivery).
 * Pure; thread-safe; logs nothing.
 */
#ifndef POSTINBOX_TRACK_AGENT_H
#define POSTINBOX_TRACK_AGENT_H

typedef struct {
    const char *agent_class;   /* one of the words above */
    int machine;
    const char *reason;        /* why machine: "user_agent", "network"; NULL when not */
} track_agent_t;

void track_agent_classify(const char *user_agent, int from_machine_network, track_agent_t *out);

#endif
