/*
 * limit.h -- what the caps say about more sends of one inbox: the
 * limiter's verdict (lib/store/limiter fills it, lib/core/decide reads it).
 *
 * Public: limit_verdict_t, limit_result_t.  Plain data; logs nothing.
 */
#ifndef POSTINBOX_LIMIT_H
#define POSTINBOX_LIMIT_H

typedef enum { LIMIT_OK = 0, LIMIT_BURST, LIMIT_DAILY } limit_verdict_t;

typedef struct {
    limit_verdict_t verdict;
    long sends_today;   /* after this reservation when OK */
    long burst_used;    /* sends in the last 60 s, after this one when OK */
    long retry_ms;      /* LIMIT_BURST: until the oldest send leaves the window */
    long reset_epoch;   /* start of the next UTC day, seconds */
    int already_charged; /* limiter_reserve_n: token charged before, nothing added */
    long recharged;     /* limiter_settle: sends given back as leaked and charged again (or refused) */
} limit_result_t;

#endif
