/*
 * main.c -- postinbox-policyd start-up (being written): for now it
 * validates its config and starts the policy service if configured.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "policy_server.h"

int
main(int argc, char **argv)
{
    const char *path = CONFIG_DEFAULT_PATH;
    char err[512];
    int opt;
    while ((opt = getopt(argc, argv, "c:ft")) != -1) {
        if (opt == 'c')
            path = optarg;
    }
    pi_config_t *cfg = config_load(path, err, sizeof(err));
    if (cfg == NULL) {
        fprintf(stderr, "postinbox-policyd: %s\n", err);
        return 1;
    }
    if (cfg->policy_listen[0] && policy_server_start(cfg->policy_listen, err, sizeof(err)) != 0) {
        fprintf(stderr, "postinbox-policyd: %s\n", err);
        config_free(cfg);
        return 1;
    }
    config_free(cfg);
    return 0;
}
