/*
 * limiter.c: token buckets on a monotonic clock.
 *
 * A bucket is shared by every client of the process that uses the same key
 * (the Lua side derives the key from a digest of the token and the API host),
 * so two clients for one account do not double the rate. The registry is the
 * one piece of process-wide mutable state in the module: it is guarded by a
 * mutex because nginx may run the module in several threads.
 *
 * The bucket is a GCRA: one "theoretical arrival time" (tat) per key, on the
 * monotonic clock. tray_gcra() is the algorithm's one C statement, used by
 * this registry and (as native.gcra) by the lua_shared_dict bucket of tray.ngx;
 * the algorithm itself is described once, in docs/DESIGN.md ("The rate limiter
 * (GCRA)"), and spec/gcra_spec.lua runs the same cases against every bucket.
 * reserve() takes the slot and returns how long to wait for it, so callers
 * never fail for want of a token; they wait.
 *
 * A bucket nobody holds stays in the registry until it has refilled completely
 * (then a fresh bucket is identical to it): a script that makes a new client
 * per call still cannot exceed the rate.
 */
#include "tray.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tray_bucket {
    char *key;
    double rate;     /* tokens per second */
    double burst;    /* bucket capacity */
    double tat;      /* theoretical arrival time, monotonic seconds */
    int refs;
    tray_bucket *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tray_bucket *registry = NULL;

double tray_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tray_sleep(double seconds)
{
    struct timespec req, rem;
    if (!(seconds > 0))
        return;
    req.tv_sec = (time_t)seconds;
    req.tv_nsec = (long)((seconds - (double)req.tv_sec) * 1e9);
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
}

double tray_gcra(double *tat, double now, double rate, double burst)
{
    double interval = 1.0 / rate;
    double tolerance = (burst - 1.0) * interval;
    double t = *tat > now ? *tat : now;   /* a tat in the past: a full bucket */
    double wait = t - tolerance - now;
    *tat = t + interval;                  /* the slot is taken, waited for or not */
    return wait >= TRAY_GCRA_EPSILON ? wait : 0;
}

/* A bucket is idle when it has refilled completely. Called with the lock held. */
static int bucket_idle(const tray_bucket *b, double now)
{
    return b->tat <= now;
}

static void prune_locked(double now)
{
    tray_bucket **pp = &registry;
    while (*pp) {
        tray_bucket *b = *pp;
        if (b->refs == 0 && bucket_idle(b, now)) {
            *pp = b->next;
            free(b->key);
            free(b);
        } else {
            pp = &b->next;
        }
    }
}

tray_bucket *tray_bucket_get(const char *key, double rate, double burst)
{
    tray_bucket *b;
    double now = tray_now();

    if (burst < 1)
        burst = 1;
    pthread_mutex_lock(&registry_lock);
    prune_locked(now);
    for (b = registry; b; b = b->next) {
        if (strcmp(b->key, key) == 0) {
            if (b->refs == 0) {
                /* nobody holds it: the new holder's settings apply, the debt stays */
                b->rate = rate;
                b->burst = burst;
            } else {
                /* two live settings for one account: the stricter one wins */
                if (rate < b->rate)
                    b->rate = rate;
                if (burst < b->burst)
                    b->burst = burst;
            }
            b->refs++;
            pthread_mutex_unlock(&registry_lock);
            return b;
        }
    }
    b = calloc(1, sizeof *b);
    if (b)
        b->key = strdup(key);
    if (!b || !b->key) {
        free(b);
        pthread_mutex_unlock(&registry_lock);
        return NULL;
    }
    b->rate = rate;
    b->burst = burst;
    b->tat = now;
    b->refs = 1;
    b->next = registry;
    registry = b;
    pthread_mutex_unlock(&registry_lock);
    return b;
}

void tray_bucket_put(tray_bucket *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&registry_lock);
    b->refs--;
    prune_locked(tray_now());
    pthread_mutex_unlock(&registry_lock);
}

double tray_bucket_reserve(tray_bucket *b)
{
    double wait;

    pthread_mutex_lock(&registry_lock);
    wait = tray_gcra(&b->tat, tray_now(), b->rate, b->burst);
    pthread_mutex_unlock(&registry_lock);
    return wait;
}

void tray_bucket_info(tray_bucket *b, double *rate, double *burst)
{
    pthread_mutex_lock(&registry_lock);
    *rate = b->rate;
    *burst = b->burst;
    pthread_mutex_unlock(&registry_lock);
}
