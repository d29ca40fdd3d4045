/*
 * cmd_tracking.c -- postinboxctl account tracking, inbox tracking: the
 * tracking settings (lib/admin/admin_tracking.h).
 *
 *   account tracking ACCOUNT [--opens yes|no|default] [--clicks ...] [--unsubscribe ...]
 *   inbox tracking ID|ADDRESS [--opens yes|no|default] [--clicks ...] [--unsubscribe ...]
 *
 * yes and no set the key; default removes it (an inbox then takes its
 * account's value; an account's is off).  Without any option, shows.
 */
#include <stdio.h>
#include <string.h>

#include "admin_inbox.h"
#include "admin_tracking.h"
#include "cmd.h"
#include "ctl_db.h"
#include "output.h"
#include "validate.h"

static const char *const tracking_options[] = { "opens", "clicks", "unsubscribe", NULL };

/* The change the options ask for into *change (NULL: none given).
 * 0, or CTL_EXIT_USAGE after saying why. */
static int
tracking_change(const args_t *args, json_t **change)
{
    *change = NULL;
    for (int i = 0; tracking_options[i] != NULL; i++) {
        const char *v = args_value(args, tracking_options[i]);
        json_t *value;
        if (v == NULL)
            continue;
        if (strcmp(v, "yes") == 0)
            value = json_true();
        else if (strcmp(v, "no") == 0)
            value = json_false();
        else if (strcmp(v, "default") == 0)
            value = json_null();
        else {
            json_decref(*change);
            *change = NULL;
            return output_usage("--%s takes yes, no or default", tracking_options[i]);
        }
        if (*change == NULL)
            *change = json_object();
        json_object_set_new(*change, tracking_options[i], value);
    }
    return 0;
}

int
cmd_inbox_tracking(ctl_t *ctl, const args_t *args)
{
    char id[40];
    json_t *change, *obj;
    admin_error_t err;
    admin_t *admin;
    int rc;

    if ((rc = tracking_change(args, &change)) != 0)
        return rc;
    if ((rc = ctl_resolve_inbox(ctl, args->pos[0], id)) != 0 || (admin = ctl_admin(ctl)) == NULL) {
        json_decref(change);
        return rc ? rc : CTL_EXIT_ERROR;
    }
    if (change != NULL && admin_tracking_inbox(admin, id, change, &err) != ADMIN_OK) {
        json_decref(change);
        return ctl_fail(&err);
    }
    json_decref(change);
    if (admin_inbox_show(admin, id, 0, &obj, &err) != ADMIN_OK)
        return ctl_fail(&err);
    json_t *shown = json_object();
    json_object_set(shown, "id", json_object_get(obj, "id"));
    json_object_set(shown, "address", json_object_get(obj, "address"));
    json_object_set(shown, "tracking", json_object_get(obj, "tracking"));
    json_object_set(shown, "trackingOverride", json_object_get(obj, "trackingOverride"));
    json_decref(obj);
    output_object(shown, NULL);
    return 0;
}

int
cmd_account_tracking(ctl_t *ctl, const args_t *args)
{
    json_t *change, *obj;
    admin_error_t err;
    admin_t *admin;
    const char *id = args->pos[0];
    int rc;

    if ((rc = tracking_change(args, &change)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL) {
        json_decref(change);
        return CTL_EXIT_ERROR;
    }
    if (!valid_uuid(id)) {
        json_decref(change);
        return output_usage("ACCOUNT must be an account id (postinboxctl account list)");
    }
    rc = admin_tracking_account(admin, id, change, &obj, &err);
    json_decref(change);
    if (rc != ADMIN_OK)
        return ctl_fail(&err);
    output_object(obj, NULL);
    return 0;
}
