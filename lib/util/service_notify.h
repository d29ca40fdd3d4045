/*
 * service_notify.h -- telling the service manager how the daemon is:
 * systemd's sd_notify(3) protocol (Type=notify units), through
 * libsystemd.  Every call is a no-op when NOTIFY_SOCKET is not set (not
 * started by systemd, or a unit of another type) and when postinbox was
 * built without libsystemd.
 *
 * Public: service_notify_ready, service_notify_status,
 * service_notify_reloading, service_notify_stopping,
 * service_watchdog_start.
 * Logs nothing.
 */
#ifndef POSTINBOX_SERVICE_NOTIFY_H
#define POSTINBOX_SERVICE_NOTIFY_H

/* READY=1 with STATUS=status (a line of text shown by systemctl status):
 * at start once the sockets are open, and after each reload. */
void service_notify_ready(const char *status);
/* STATUS=status alone. */
void service_notify_status(const char *status);
/* RELOADING=1 with MONOTONIC_USEC (as Type=notify-reload wants), before
 * a reload; service_notify_ready follows it, whatever the outcome. */
void service_notify_reloading(void);
/* STOPPING=1, once the daemon begins to stop; no WATCHDOG=1 is sent after it. */
void service_notify_stopping(void);
/* When the unit sets WatchdogSec (WATCHDOG_USEC, for this pid): a thread
 * sends WATCHDOG=1 every half of it for as long as healthy() returns 1,
 * so a daemon whose healthy() hangs or fails is restarted by systemd.
 * 0 (also when there is no watchdog), -1 if the thread cannot start. */
int service_watchdog_start(int (*healthy)(void));

#endif
