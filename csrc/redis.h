/*
 * redis.h: connections to Redis (hiredis) for the fleet-wide rate limiter and
 * the shared token store, and their Lua bindings.
 *
 * A connection is shared process-wide by every user of the same URL and
 * timeout (reference counted, guarded by its own mutex), opened lazily,
 * reopened after a failure only once a back-off has passed, and reopened in a
 * forked child (a socket is never shared between processes).
 */
#ifndef TRAY_REDIS_H
#define TRAY_REDIS_H

#include "compat.h"

#include <stddef.h>

typedef struct tray_redis tray_redis;

/* A reply of GET / SET / DEL (str is malloc'd; the caller frees it). */
typedef struct {
    int nil;          /* GET: no such key */
    long long integer;
    char *str;
    size_t len;
} tray_redis_reply;

#define TRAY_REDIS_MSG_MAX 256

/* url as in tray_redis_url_parse; timeout bounds the connect and each command
 * (seconds); backoff_cap is the longest wait between two connection attempts
 * while Redis is unreachable. NULL with *err on a bad URL or out of memory. */
tray_redis *tray_redis_get(const char *url, double timeout, double backoff_cap, const char **err);
void tray_redis_put(tray_redis *r);

/* Every call below returns NULL on success, else the error kind ("network",
 * "timeout", "auth", "decode") with a message in msg (never a value, a key
 * or the password). */

/* GCRA on the server (a script run by its SHA): the slot is taken and *wait
 * is the number of seconds until it. */
const char *tray_redis_reserve(tray_redis *r, const char *key, size_t key_len,
                               double rate, double burst, double *wait, char *msg);
/* argv[0] is GET, SET or DEL (or PING); the reply goes to out. */
const char *tray_redis_command(tray_redis *r, int argc, const char **argv, const size_t *argvlen,
                               tray_redis_reply *out, char *msg);

/* Adds native.redis, native.redis_limiter and native.redis_url to the module
 * table on the top of the stack, and registers their metatables. */
void tray_redis_luaopen(lua_State *L);

#endif /* TRAY_REDIS_H */
