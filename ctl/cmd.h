/*
 * cmd.h -- the postinboxctl commands.
 *
 * Public: one cmd_* function per command, all of type cmd_fn_t, called by
 * postinboxctl.c after the command line was parsed against the command's
 * option spec and the config was loaded.  Each returns the exit status
 * (0, CTL_EXIT_ERROR or CTL_EXIT_USAGE), having reported any error.
 *   cmd_account.c  account create|list, domain add|list
 *   cmd_inbox.c    inbox create|show|list|disable|suspend|activate
 *   cmd_login.c    login grant|revoke|list
 *   cmd_history.c  messages, events, threads, thread show
 *   cmd_suppression.c  suppression list|add|remove|import|export
 *   cmd_webhook.c  webhook add|list|show|update|disable|enable|delete|rotate-secret|
 *                  encrypt-secrets
 *   cmd_webhook_delivery.c  webhook deliveries|replay
 *   cmd_send.c     send (a message as an inbox, through Postfix)
 *   cmd_apikey.c   apikey create|list|revoke
 */
#ifndef POSTINBOX_CTL_CMD_H
#define POSTINBOX_CTL_CMD_H

#include "args.h"
#include "ctl_db.h"

typedef int (*cmd_fn_t)(ctl_t *ctl, const args_t *args);

int cmd_account_create(ctl_t *ctl, const args_t *args);
int cmd_account_list(ctl_t *ctl, const args_t *args);
int cmd_domain_add(ctl_t *ctl, const args_t *args);
int cmd_domain_list(ctl_t *ctl, const args_t *args);
int cmd_domain_show(ctl_t *ctl, const args_t *args);
int cmd_domain_delete(ctl_t *ctl, const args_t *args);
int cmd_domain_dkim(ctl_t *ctl, const args_t *args);
int cmd_domain_records(ctl_t *ctl, const args_t *args);
int cmd_domain_verify(ctl_t *ctl, const args_t *args);
/* After migrate: an active key for every domain that has none (a
 * domain of an older version); 0, or CTL_EXIT_ERROR warned. */
int cmd_domain_dkim_backfill(ctl_t *ctl);

int cmd_inbox_create(ctl_t *ctl, const args_t *args);
int cmd_inbox_show(ctl_t *ctl, const args_t *args);
int cmd_inbox_list(ctl_t *ctl, const args_t *args);
int cmd_inbox_disable(ctl_t *ctl, const args_t *args);
int cmd_inbox_suspend(ctl_t *ctl, const args_t *args);
int cmd_inbox_activate(ctl_t *ctl, const args_t *args);
int cmd_inbox_tracking(ctl_t *ctl, const args_t *args);
int cmd_account_tracking(ctl_t *ctl, const args_t *args);

int cmd_login_grant(ctl_t *ctl, const args_t *args);
int cmd_login_revoke(ctl_t *ctl, const args_t *args);
int cmd_login_list(ctl_t *ctl, const args_t *args);

int cmd_suppression_list(ctl_t *ctl, const args_t *args);
int cmd_suppression_add(ctl_t *ctl, const args_t *args);
int cmd_suppression_remove(ctl_t *ctl, const args_t *args);
int cmd_suppression_import(ctl_t *ctl, const args_t *args);
int cmd_suppression_export(ctl_t *ctl, const args_t *args);

int cmd_messages(ctl_t *ctl, const args_t *args);
int cmd_events(ctl_t *ctl, const args_t *args);
int cmd_threads(ctl_t *ctl, const args_t *args);
int cmd_thread_show(ctl_t *ctl, const args_t *args);

int cmd_webhook_add(ctl_t *ctl, const args_t *args);
int cmd_webhook_list(ctl_t *ctl, const args_t *args);
int cmd_webhook_show(ctl_t *ctl, const args_t *args);
int cmd_webhook_disable(ctl_t *ctl, const args_t *args);
int cmd_webhook_enable(ctl_t *ctl, const args_t *args);
int cmd_webhook_delete(ctl_t *ctl, const args_t *args);
int cmd_webhook_rotate(ctl_t *ctl, const args_t *args);
int cmd_webhook_update(ctl_t *ctl, const args_t *args);
int cmd_webhook_encrypt_secrets(ctl_t *ctl, const args_t *args);
int cmd_webhook_deliveries(ctl_t *ctl, const args_t *args);
int cmd_webhook_replay(ctl_t *ctl, const args_t *args);

int cmd_send(ctl_t *ctl, const args_t *args);
int cmd_apikey_create(ctl_t *ctl, const args_t *args);
int cmd_apikey_list(ctl_t *ctl, const args_t *args);
int cmd_apikey_revoke(ctl_t *ctl, const args_t *args);

#endif
