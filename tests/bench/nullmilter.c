/*
 * nullmilter.c -- the do-nothing milter of the throughput benchmark
 * (tests/bench/milter-throughput.sh): the ceiling any milter can reach.
 *
 * It registers a callback for every stage (connect, helo, envfrom,
 * envrcpt, header, eoh, body, eom, abort, close), asks for no protocol
 * steps to be skipped and for no "no reply" (SMFIP_NR_*) treatment, and
 * answers SMFIS_CONTINUE everywhere.  So Postfix pays the full milter
 * protocol cost (one round trip per stage, per header and per body chunk)
 * and the milter itself does no work.
 *
 * Built by the benchmark script, not by make:
 *     cc -O2 -Wall -Wextra -o DIR/nullmilter nullmilter.c -lmilter -lpthread
 * Usage:
 *     nullmilter SOCKET        e.g. nullmilter inet:20025@127.0.0.1
 * Runs in the foreground until SIGTERM/SIGINT/SIGHUP (libmilter's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <libmilter/mfapi.h>

static sfsistat
null_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    (void)ctx;
    (void)hostname;
    (void)hostaddr;
    return SMFIS_CONTINUE;
}

static sfsistat
null_helo(SMFICTX *ctx, char *helohost)
{
    (void)ctx;
    (void)helohost;
    return SMFIS_CONTINUE;
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx;
    (void)name;
    (void)value;
    return SMFIS_CONTINUE;
}

static sfsistat
null_eoh(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void)ctx;
    (void)chunk;
    (void)len;
    return SMFIS_CONTINUE;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat
null_abort(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static struct smfiDesc null_desc = {
    "nullmilter",       /* filter name */
    SMFI_VERSION,       /* version code */
    0,                  /* flags: no message modifications */
    null_connect,       /* connection info filter */
    null_helo,          /* SMTP HELO command filter */
    null_envfrom,       /* envelope sender filter */
    null_envrcpt,       /* envelope recipient filter */
    null_header,        /* header filter */
    null_eoh,           /* end of header */
    null_body,          /* body block filter */
    null_eom,           /* end of message */
    null_abort,         /* message aborted */
    null_close,         /* connection cleanup */
    NULL,               /* unknown SMTP commands */
    NULL,               /* DATA command */
    NULL                /* negotiate: none, so nothing is skipped */
};

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET (e.g. inet:20025@127.0.0.1)\n", argv[0]);
        return 2;
    }
    if (smfi_setconn(argv[1]) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: smfi_setconn %s failed\n", argv[1]);
        return 1;
    }
    if (smfi_register(null_desc) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: smfi_register failed\n");
        return 1;
    }
    /* Create the socket now, so a bad SOCKET fails here and not later. */
    if (smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "nullmilter: cannot open %s\n", argv[1]);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
