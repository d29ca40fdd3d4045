/*
 * logfollow.h -- follows Postfix's log and records delivery status.
 *
 * Public: logfollow_start, logfollow_stop.
 * A thread of its own reads postfix_log (a file, with tail -F semantics,
 * or standard input for "-"), parses each line (lib/mail/postfix_log.c) and
 * hands every delivery line to record_delivery() (sql/003), one statement
 * per line.  Position (device, inode, offset of the next unread line) is
 * saved in postfix_log_state after each batch.  See logfollow.c.
 */
#ifndef POSTINBOX_LOGFOLLOW_H
#define POSTINBOX_LOGFOLLOW_H

#include <stddef.h>

/* Starts the follower for path ("-" = standard input) with the position
 * kept in state_path ("" = none).  0, or -1 with err. */
int logfollow_start(const char *path, const char *state_path, char *err, size_t errlen);
/* Stops the thread after the line under way; saves the position. */
void logfollow_stop(void);

#endif
