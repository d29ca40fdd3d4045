/*
 * service_notify.c -- sd_notify for Type=notify units.  See service_notify.h.
 */
#include "service_notify.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

void
service_notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
service_notify_status(const char *status)
{
    sd_notifyf(0, "STATUS=%s", status);
}

void
service_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* Once STOPPING=1 is sent no WATCHDOG=1 follows it: the lock orders the two. */
static pthread_mutex_t service_lock = PTHREAD_MUTEX_INITIALIZER;
static int service_stopping;

void
service_notify_stopping(void)
{
    pthread_mutex_lock(&service_lock);
    service_stopping = 1;
    sd_notify(0, "STOPPING=1");
    pthread_mutex_unlock(&service_lock);
}

static int (*service_healthy)(void);
static uint64_t service_watchdog_usec;

static void *
service_watchdog_thread(void *arg)
{
    struct timespec half = { (time_t)(service_watchdog_usec / 2 / 1000000),
                             (long)(service_watchdog_usec / 2 % 1000000) * 1000 };
    (void)arg;
    for (;;) {
        int healthy = service_healthy();
        pthread_mutex_lock(&service_lock);
        if (service_stopping) {
            pthread_mutex_unlock(&service_lock);
            break;
        }
        if (healthy)
            sd_notify(0, "WATCHDOG=1");
        pthread_mutex_unlock(&service_lock);
        nanosleep(&half, NULL);
    }
    return NULL;
}

int
service_watchdog_start(int (*healthy)(void))
{
    pthread_t tid;
    pthread_attr_t attr;
    int rc;
    if (sd_watchdog_enabled(0, &service_watchdog_usec) <= 0 || service_watchdog_usec < 2)
        return 0;
    service_healthy = healthy;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, service_watchdog_thread, NULL);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

#else /* built without libsystemd: nothing to tell */

void
service_notify_ready(const char *status)
{
    (void)status;
}

void
service_notify_status(const char *status)
{
    (void)status;
}

void
service_notify_reloading(void)
{
}

void
service_notify_stopping(void)
{
}

int
service_watchdog_start(int (*healthy)(void))
{
    (void)healthy;
    return 0;
}

#endif
