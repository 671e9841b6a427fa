/*
 * redis.c: connections to Redis over hiredis (blocking, with bounded
 * timeouts) for the fleet-wide rate limiter and the shared token store.
 *
 * The limiter's bucket lives in Redis: a GCRA "theoretical arrival time" kept
 * in one key and taken atomically by a small Lua script on the server, using
 * the server's clock (TIME), so the hosts of a fleet need no synchronised
 * clocks. The script is loaded once (SCRIPT LOAD) and called by its SHA
 * (EVALSHA, one round trip); a NOSCRIPT answer (a restarted or flushed
 * server) loads it again.
 *
 * Connections are shared process-wide by URL and timeout in a registry (the
 * second piece of process-wide mutable state of the module, guarded by a
 * mutex like the limiter's). Each connection has its own mutex, so threads
 * (nginx) take turns on it. After a failure the connection is dropped and the
 * next attempt waits for a back-off (0.1 s doubling up to backoff_cap, with
 * jitter); until then every call fails at once, so a caller that falls back
 * to a local bucket pays nothing while Redis is down.
 *
 * hiredis is optional at build time: the Makefile (and the rockspec's build)
 * define TRAY_HAVE_HIREDIS when pkg-config finds it. Without it, opening a
 * connection fails with a `usage` error that names the missing library.
 */
#include "redis.h"
#include "tray.h"

#include <stdio.h>
#include <string.h>

#ifndef TRAY_HAVE_HIREDIS

static const char tray_redis_missing[] =
    "Redis support is not built in: this tray was built without hiredis "
    "(install libhiredis-dev, or the hiredis headers, and rebuild)";

tray_redis *tray_redis_get(const char *url, double timeout, double backoff_cap, const char **err)
{
    (void)url;
    (void)timeout;
    (void)backoff_cap;
    *err = tray_redis_missing;
    return NULL;
}

void tray_redis_put(tray_redis *r)
{
    (void)r;
}

const char *tray_redis_reserve(tray_redis *r, const char *key, size_t key_len,
                               double rate, double burst, double *wait, char *msg)
{
    (void)r;
    (void)key;
    (void)key_len;
    (void)rate;
    (void)burst;
    *wait = 0;
    snprintf(msg, TRAY_REDIS_MSG_MAX, "%s", tray_redis_missing);
    return "usage";
}

const char *tray_redis_command(tray_redis *r, int argc, const char **argv, const size_t *argvlen,
                               tray_redis_reply *out, char *msg)
{
    (void)r;
    (void)argc;
    (void)argv;
    (void)argvlen;
    memset(out, 0, sizeof *out);
    snprintf(msg, TRAY_REDIS_MSG_MAX, "%s", tray_redis_missing);
    return "usage";
}

#else /* TRAY_HAVE_HIREDIS */

#include <hiredis/hiredis.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_BASE 0.1

/* KEYS[1]: the bucket; ARGV[1]: rate (per second); ARGV[2]: burst.
 * The GCRA of docs/DESIGN.md ("The rate limiter (GCRA)"), as tray_gcra() in
 * limiter.c, in whole microseconds of the server's clock: the tat is stored
 * rounded up (never ahead of the rate) and the wait returned rounded down.
 * Returns the microseconds to wait for the slot it takes. The key expires
 * once the bucket has refilled completely (then it equals a missing key). */
static const char GCRA_SCRIPT[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local interval = 1000000 / tonumber(ARGV[1])\n"
    "local tolerance = (tonumber(ARGV[2]) - 1) * interval\n"
    "local tat = tonumber(redis.call('GET', KEYS[1])) or now\n"
    "if tat < now then tat = now end\n"
    "local start = tat - tolerance\n"
    "if start < now then start = now end\n"
    "local new_tat = tat + interval\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', math.ceil(new_tat)), 'PX',\n"
    "           math.ceil((new_tat - now) / 1000) + 1000)\n"
    "return math.floor(start - now)\n";

struct tray_redis {
    char *id;                 /* registry key: the URL and the timeout */
    tray_redis_url url;
    struct timeval tv;
    double backoff_cap;
    pthread_mutex_t lock;     /* guards everything below */
    redisContext *c;
    pid_t pid;                /* the process that opened c */
    int failures;             /* consecutive failed attempts */
    double retry_at;          /* monotonic: no attempt before this */
    unsigned int seed;        /* jitter */
    char sha[41];             /* the script's SHA once loaded, else "" */
    int refs;
    tray_redis *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tray_redis *registry = NULL;

/* ---- registry ---- */

tray_redis *tray_redis_get(const char *url, double timeout, double backoff_cap, const char **err)
{
    tray_redis *r;
    char id[64];
    size_t len = strlen(url), idlen;
    tray_redis_url parsed;

    if (tray_redis_url_parse(url, len, &parsed, err) != 0)
        return NULL;
    if (!(timeout > 0) || timeout > 60) {
        *err = "the Redis timeout must be more than 0 and at most 60 seconds";
        return NULL;
    }
    if (!(backoff_cap >= BACKOFF_BASE) || backoff_cap > 3600) {
        *err = "the Redis back-off must be between 0.1 and 3600 seconds";
        return NULL;
    }
    snprintf(id, sizeof id, " %.6f %.3f", timeout, backoff_cap);
    idlen = strlen(id);

    pthread_mutex_lock(&registry_lock);
    for (r = registry; r; r = r->next) {
        if (strncmp(r->id, url, len) == 0 && strcmp(r->id + len, id) == 0) {
            r->refs++;
            pthread_mutex_unlock(&registry_lock);
            return r;
        }
    }
    r = calloc(1, sizeof *r);
    if (r)
        r->id = malloc(len + idlen + 1);
    if (!r || !r->id || pthread_mutex_init(&r->lock, NULL) != 0) {
        if (r)
            free(r->id);
        free(r);
        pthread_mutex_unlock(&registry_lock);
        *err = "out of memory";
        return NULL;
    }
    memcpy(r->id, url, len);
    memcpy(r->id + len, id, idlen + 1);
    r->url = parsed;
    r->tv.tv_sec = (time_t)timeout;
    r->tv.tv_usec = (suseconds_t)((timeout - (double)r->tv.tv_sec) * 1e6);
    r->backoff_cap = backoff_cap;
    r->seed = (unsigned int)((uintptr_t)r ^ (uintptr_t)time(NULL) ^ (uintptr_t)getpid());
    r->refs = 1;
    r->next = registry;
    registry = r;
    pthread_mutex_unlock(&registry_lock);
    return r;
}

void tray_redis_put(tray_redis *r)
{
    tray_redis **pp;
    if (!r)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--r->refs > 0) {
        pthread_mutex_unlock(&registry_lock);
        return;
    }
    for (pp = &registry; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (r->c)
        redisFree(r->c);
    pthread_mutex_destroy(&r->lock);
    memset(&r->url, 0, sizeof r->url); /* the password */
    free(r->id);
    free(r);
}

/* ---- connection (every function below runs with r->lock held) ---- */

static void drop_locked(tray_redis *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

static void failed_locked(tray_redis *r)
{
    double delay = BACKOFF_BASE;
    int i;
    drop_locked(r);
    r->failures++;
    for (i = 1; i < r->failures && delay < r->backoff_cap; i++)
        delay *= 2;
    if (delay > r->backoff_cap)
        delay = r->backoff_cap;
    /* jitter in [delay / 2, delay]: a fleet does not come back all at once */
    r->seed = r->seed * 1103515245u + 12345u;
    delay *= 0.5 + 0.5 * (double)((r->seed >> 16) & 0x7fff) / 32767.0;
    r->retry_at = tray_now() + delay;
}

/* Writing to a socket the server has closed raises SIGPIPE, which kills a
 * plain Lua process: it is blocked around each exchange and a SIGPIPE raised
 * by it is consumed. */
typedef struct { sigset_t set, old; int pending; } pipe_guard;

static void guard_begin(pipe_guard *g)
{
    sigset_t pending;
    sigemptyset(&g->set);
    sigaddset(&g->set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &g->set, &g->old);
    sigpending(&pending);
    g->pending = sigismember(&pending, SIGPIPE);
}

static void guard_end(pipe_guard *g)
{
    if (!g->pending) {
        sigset_t pending;
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            struct timespec zero = { 0, 0 };
            sigtimedwait(&g->set, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Classifies a hiredis context error, drops the connection and starts the
 * back-off. */
static const char *io_failure_locked(tray_redis *r, int saved_errno, const char *what, char *msg)
{
    const char *kind = "network";
    if (r->c && r->c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK
                                             || saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS))
        kind = "timeout";
    snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d: %.24s: %.128s", r->url.host, r->url.port, what,
             r->c && r->c->errstr[0] ? r->c->errstr : "no connection");
    failed_locked(r);
    return kind;
}

/* Sends one command and reads its reply. On a connection-level failure the
 * connection is dropped and NULL is returned with kind/msg filled in. */
static redisReply *exchange_locked(tray_redis *r, int argc, const char **argv, const size_t *argvlen,
                                   const char **kind, char *msg)
{
    pipe_guard g;
    redisReply *reply;
    int saved;

    guard_begin(&g);
    errno = 0;
    reply = (redisReply *)redisCommandArgv(r->c, argc, argv, argvlen);
    saved = errno;
    guard_end(&g);
    if (!reply || r->c->err) {
        if (reply)
            freeReplyObject(reply);
        *kind = io_failure_locked(r, saved, argv[0], msg);
        return NULL;
    }
    return reply;
}

static const char *reply_error_kind(const redisReply *reply)
{
    if (strncmp(reply->str, "NOAUTH", 6) == 0 || strncmp(reply->str, "WRONGPASS", 9) == 0
        || strncmp(reply->str, "NOPERM", 6) == 0)
        return "auth";
    return "network";
}

/* Copies a server error (first line, bounded, secrets redacted) into msg. */
static void reply_error_msg(tray_redis *r, const char *what, const redisReply *reply, char *msg)
{
    char line[96];
    tray_redis_redact(&r->url, reply->str, reply->len, line, sizeof line);
    snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d: %.24s: %.128s", r->url.host, r->url.port, what, line);
}

/* Runs a set-up command (AUTH, SELECT) on a fresh connection. */
static const char *setup_locked(tray_redis *r, int argc, const char **argv, char *msg)
{
    const char *kind = NULL;
    redisReply *reply = exchange_locked(r, argc, argv, NULL, &kind, msg);
    if (!reply)
        return kind;
    if (reply->type == REDIS_REPLY_ERROR) {
        kind = reply_error_kind(reply);
        reply_error_msg(r, argv[0], reply, msg);
        freeReplyObject(reply);
        failed_locked(r);
        return kind;
    }
    freeReplyObject(reply);
    return NULL;
}

/* Makes sure r->c is a live connection of this process. *fresh says whether
 * it was opened by this call. */
static const char *connect_locked(tray_redis *r, int *fresh, char *msg)
{
    double now;
    pipe_guard g;
    int saved;

    *fresh = 0;
    if (r->c && r->pid != getpid()) {
        /* a forked child: the socket belongs to the parent too; let go of it */
        redisFree(r->c);
        r->c = NULL;
        r->failures = 0;
        r->retry_at = 0;
    }
    if (r->c)
        return NULL;
    now = tray_now();
    if (now < r->retry_at) {
        snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d is unreachable; next attempt in %.2fs",
                 r->url.host, r->url.port, r->retry_at - now);
        return "network";
    }
    guard_begin(&g);
    errno = 0;
    r->c = redisConnectWithTimeout(r->url.host, r->url.port, r->tv);
    saved = errno;
    guard_end(&g);
    if (!r->c) {
        snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d: out of memory", r->url.host, r->url.port);
        failed_locked(r);
        return "network";
    }
    if (r->c->err)
        return io_failure_locked(r, saved, "connect", msg);
    r->pid = getpid();
    if (redisSetTimeout(r->c, r->tv) != REDIS_OK)
        return io_failure_locked(r, errno, "setting the timeout", msg);
    if (r->url.has_password) {
        const char *argv[3];
        const char *kind;
        int argc = 0;
        argv[argc++] = "AUTH";
        if (r->url.user[0])
            argv[argc++] = r->url.user;
        argv[argc++] = r->url.password;
        kind = setup_locked(r, argc, argv, msg);
        if (kind) {
            /* the reply never holds the password, but say AUTH, not the argument */
            return kind;
        }
    }
    if (r->url.db != 0) {
        char db[16];
        const char *argv[2];
        const char *kind;
        snprintf(db, sizeof db, "%d", r->url.db);
        argv[0] = "SELECT";
        argv[1] = db;
        kind = setup_locked(r, 2, argv, msg);
        if (kind)
            return kind;
    }
    r->failures = 0;
    r->retry_at = 0;
    *fresh = 1;
    return NULL;
}

/* One command with one retry on a fresh connection when a pooled one turns out
 * to be dead (the server restarted, or closed an idle connection). */
static redisReply *command_locked(tray_redis *r, int argc, const char **argv, const size_t *argvlen,
                                  const char **kind, char *msg)
{
    int fresh, attempt;
    redisReply *reply = NULL;
    for (attempt = 0; attempt < 2; attempt++) {
        *kind = connect_locked(r, &fresh, msg);
        if (*kind)
            return NULL;
        reply = exchange_locked(r, argc, argv, argvlen, kind, msg);
        if (reply || fresh || strcmp(*kind, "timeout") == 0)
            return reply;
        /* a pooled connection failed: try a new one at once */
        r->failures = 0;
        r->retry_at = 0;
    }
    return reply;
}

/* ---- commands ---- */

static const char *load_script_locked(tray_redis *r, char *msg)
{
    const char *argv[3] = { "SCRIPT", "LOAD", GCRA_SCRIPT };
    size_t lens[3];
    const char *kind = NULL;
    redisReply *reply;

    lens[0] = 6;
    lens[1] = 4;
    lens[2] = sizeof GCRA_SCRIPT - 1;
    reply = command_locked(r, 3, argv, lens, &kind, msg);
    if (!reply)
        return kind;
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        if (reply->type == REDIS_REPLY_ERROR) {
            kind = reply_error_kind(reply);
            reply_error_msg(r, "SCRIPT LOAD", reply, msg);
        } else {
            kind = "decode";
            snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d: SCRIPT LOAD: unexpected reply",
                     r->url.host, r->url.port);
        }
        freeReplyObject(reply);
        return kind;
    }
    memcpy(r->sha, reply->str, 40);
    r->sha[40] = '\0';
    freeReplyObject(reply);
    return NULL;
}

const char *tray_redis_reserve(tray_redis *r, const char *key, size_t key_len,
                               double rate, double burst, double *wait, char *msg)
{
    const char *argv[6];
    size_t lens[6];
    char rate_s[32], burst_s[32];
    const char *kind = NULL;
    redisReply *reply = NULL;
    int attempt;

    snprintf(rate_s, sizeof rate_s, "%.17g", rate);
    snprintf(burst_s, sizeof burst_s, "%.17g", burst);
    pthread_mutex_lock(&r->lock);
    for (attempt = 0; attempt < 2; attempt++) {
        if (!r->sha[0] && (kind = load_script_locked(r, msg)) != NULL)
            break;
        argv[0] = "EVALSHA";
        argv[1] = r->sha;
        argv[2] = "1";
        argv[3] = key;
        argv[4] = rate_s;
        argv[5] = burst_s;
        lens[0] = 7;
        lens[1] = 40;
        lens[2] = 1;
        lens[3] = key_len;
        lens[4] = strlen(rate_s);
        lens[5] = strlen(burst_s);
        reply = command_locked(r, 6, argv, lens, &kind, msg);
        if (!reply)
            break;
        if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
            /* a restarted or flushed server: load the script again */
            freeReplyObject(reply);
            reply = NULL;
            r->sha[0] = '\0';
            continue;
        }
        break;
    }
    if (reply) {
        if (reply->type == REDIS_REPLY_INTEGER) {
            *wait = reply->integer > 0 ? (double)reply->integer / 1e6 : 0;
            kind = NULL;
        } else if (reply->type == REDIS_REPLY_ERROR) {
            kind = reply_error_kind(reply);
            reply_error_msg(r, "EVALSHA", reply, msg);
        } else {
            kind = "decode";
            snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d: EVALSHA: unexpected reply",
                     r->url.host, r->url.port);
        }
        freeReplyObject(reply);
    } else if (!kind) {
        kind = "network";
        snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d: the script could not be loaded",
                 r->url.host, r->url.port);
    }
    pthread_mutex_unlock(&r->lock);
    return kind;
}

const char *tray_redis_command(tray_redis *r, int argc, const char **argv, const size_t *argvlen,
                               tray_redis_reply *out, char *msg)
{
    const char *kind = NULL;
    redisReply *reply;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->lock);
    reply = command_locked(r, argc, argv, argvlen, &kind, msg);
    if (reply) {
        switch (reply->type) {
        case REDIS_REPLY_NIL:
            out->nil = 1;
            break;
        case REDIS_REPLY_INTEGER:
            out->integer = reply->integer;
            break;
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
            out->str = malloc(reply->len + 1);
            if (!out->str) {
                kind = "network";
                snprintf(msg, TRAY_REDIS_MSG_MAX, "out of memory");
                break;
            }
            memcpy(out->str, reply->str, reply->len);
            out->str[reply->len] = '\0';
            out->len = reply->len;
            break;
        case REDIS_REPLY_ERROR:
            kind = reply_error_kind(reply);
            reply_error_msg(r, argv[0], reply, msg);
            break;
        default:
            kind = "decode";
            snprintf(msg, TRAY_REDIS_MSG_MAX, "redis %.64s:%d: %.24s: unexpected reply",
                     r->url.host, r->url.port, argv[0]);
        }
        freeReplyObject(reply);
    }
    pthread_mutex_unlock(&r->lock);
    return kind;
}

#endif /* TRAY_HAVE_HIREDIS */
