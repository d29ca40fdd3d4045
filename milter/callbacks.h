/*
 * callbacks.h -- the libmilter adapter: SMTP stages in, decisions out.
 *
 * Public: callbacks_descriptor.  The only file that calls smfi_* apart
 * from main.c's start-up.  Each callback hands plain strings to
 * session.c and turns its decision_t into smfi_setreply + SMFIS_*.
 */
#ifndef POSTINBOX_CALLBACKS_H
#define POSTINBOX_CALLBACKS_H

#include <libmilter/mfapi.h>

/* The filter description given to smfi_register. */
struct smfiDesc *callbacks_descriptor(void);

#endif
