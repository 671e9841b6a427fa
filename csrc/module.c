/*
 * module.c: luaopen_tray_native, the userdata types and their methods.
 *
 * Failures a caller can meet come back as values (nil, kind, message[, detail]);
 * luaL_error is kept for programming mistakes (wrong argument types).
 */
#include "compat.h"
#include "http.h"
#include "http1.h"
#include "luatype.h"
#include "redis.h"
#include "tray.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SESSION_MT "tray.native.session"
#define MULTI_MT "tray.native.multi"
#define LIMITER_MT "tray.native.limiter"

#define MAX_HEADERS TRAY_MAX_HEADERS

#if defined(__GNUC__)
#  define TRAY_EXPORT __attribute__((visibility("default")))
#else
#  define TRAY_EXPORT
#endif

TRAY_EXPORT int luaopen_tray_native(lua_State *L);

typedef struct { tray_session *s; } session_ud;
typedef struct { tray_multi *m; } multi_ud;
typedef struct { tray_bucket *b; } limiter_ud;

/* curl_global_init must run once per process, before any other thread uses
 * libcurl; curl_global_cleanup is never called because other Lua states (or
 * nginx threads) may still be using libcurl. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- helpers ---- */

static int push_failure(lua_State *L, const char *kind, const char *message, const char *detail)
{
    lua_pushnil(L);
    lua_pushstring(L, kind);
    lua_pushstring(L, message);
    if (detail)
        lua_pushstring(L, detail);
    else
        lua_pushnil(L);
    return 4;
}

static double opt_number(lua_State *L, int t, const char *key, double dflt)
{
    double v;
    lua_getfield(L, t, key);
    v = lua_isnil(L, -1) ? dflt : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A string argument that C reads up to its first NUL byte: NULL when it holds
 * one (it would be cut short silently: a header, a URL, a path). */
static const char *cstring_arg(lua_State *L, int idx)
{
    size_t len;
    const char *s = luaL_checklstring(L, idx, &len);
    return strlen(s) == len ? s : NULL;
}

/* Returns a string kept alive by the options table (or NULL); *nul is set
 * when the string holds a NUL byte. */
static const char *opt_string(lua_State *L, int t, const char *key, int *nul)
{
    const char *v = NULL;
    lua_getfield(L, t, key);
    if (!lua_isnil(L, -1)) {
        v = cstring_arg(L, -1);
        if (!v)
            *nul = 1;
    }
    lua_pop(L, 1);
    return v;
}

static void push_headers(lua_State *L, const char *head, size_t len)
{
    size_t i = 0;
    lua_createtable(L, 0, 8);
    while (i < len) {
        const char *name = head + i;
        size_t nl = strlen(name);
        const char *value = name + nl + 1;
        size_t vl = strlen(value);
        lua_pushlstring(L, name, nl);
        lua_pushlstring(L, value, vl);
        lua_rawset(L, -3);
        i += nl + vl + 2;
    }
}

/* Reads (method, url, headers, body, token) from stack positions first..
 * Returns NULL, or the message of a usage error. */
static const char *read_request(lua_State *L, int first, tray_request *r, const char **lines)
{
    static const char NUL_MSG[] = "the method, the URL or a header holds a NUL byte";
    size_t n = 0;
    r->method = cstring_arg(L, first);
    r->url = cstring_arg(L, first + 1);
    if (!r->method || !r->url)
        return NUL_MSG;
    if (!lua_isnoneornil(L, first + 2)) {
        size_t i;
        luaL_checktype(L, first + 2, LUA_TTABLE);
        n = lua_rawlen(L, first + 2);
        if (n > MAX_HEADERS)
            return "too many headers";
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, first + 2, (int)i + 1);
            lines[i] = cstring_arg(L, -1); /* kept alive by the table */
            lua_pop(L, 1);
            if (!lines[i])
                return NUL_MSG;
        }
    }
    r->headers = lines;
    r->nheaders = n;
    r->body = luaL_optlstring(L, first + 3, NULL, &r->body_len);
    r->token = luaL_optlstring(L, first + 4, NULL, &r->token_len);
    return NULL;
}

/* ---- session ---- */

static session_ud *check_session(lua_State *L, int idx)
{
    return (session_ud *)luaL_checkudata(L, idx, SESSION_MT);
}

static tray_session *live_session(lua_State *L, int idx)
{
    session_ud *u = check_session(L, idx);
    if (!u->s)
        luaL_error(L, "tray.native: the session is closed");
    return u->s;
}

static int l_session(lua_State *L)
{
    tray_session_opts o;
    session_ud *u;
    const char *err = NULL;
    int nul = 0;

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    o.timeout = opt_number(L, 1, "timeout", 30);
    o.connect_timeout = opt_number(L, 1, "connect_timeout", 10);
    o.user_agent = opt_string(L, 1, "user_agent", &nul);
    o.ca_file = opt_string(L, 1, "ca_file", &nul);
    if (nul)
        return push_failure(L, "usage", "user_agent or ca_file holds a NUL byte", NULL);
    o.proxy = opt_string(L, 1, "proxy", &nul);
    if (nul)
        return push_failure(L, "usage", "user_agent, ca_file or proxy holds a NUL byte", NULL);
    lua_getfield(L, 1, "verify");
    if (!lua_isnil(L, -1))
        return push_failure(L, "usage", "there is no verify option: TLS verification is always on "
                            "(give ca_file to trust another certificate authority)", NULL);
    lua_pop(L, 1);
    o.max_body = opt_number(L, 1, "max_body", 64.0 * 1024 * 1024);
    if (!o.user_agent)
        o.user_agent = "tray-lua/" TRAY_NATIVE_VERSION;
    if (!(o.timeout >= 0.001) || !(o.connect_timeout >= 0.001) || !(o.max_body >= 1))
        return push_failure(L, "usage", "timeout and connect_timeout must be at least 0.001 s, "
                            "max_body at least 1 byte", NULL);
    if (tray_header_unsafe(o.user_agent, strlen(o.user_agent)))
        return push_failure(L, "usage", "user_agent holds a control character", NULL);
    if (curl_init_rc != CURLE_OK)
        return push_failure(L, "network", "curl_global_init failed", NULL);
    u = (session_ud *)lua_newuserdata(L, sizeof *u);
    u->s = NULL;
    luaL_getmetatable(L, SESSION_MT);
    lua_setmetatable(L, -2);
    u->s = tray_session_new(&o, &err);
    if (!u->s)
        return push_failure(L, "network", err, NULL);
    return 1;
}

static int l_session_request(lua_State *L)
{
    tray_session *s = live_session(L, 1);
    const char *lines[MAX_HEADERS];
    const char *kind, *message, *bad;
    tray_request r;
    tray_result res;
    tray_xfer *x;
    int n;

    if ((bad = read_request(L, 2, &r, lines)) != NULL)
        return push_failure(L, "usage", bad, NULL);
    x = tray_xfer_prepare(s, &r, &kind, &message);
    if (!x)
        return push_failure(L, kind, message, NULL);
    tray_xfer_perform(x, &res);
    if (res.kind) {
        n = push_failure(L, res.kind, res.message, res.detail);
        lua_pushinteger(L, res.status);
        n++;
    } else {
        lua_pushinteger(L, res.status);
        lua_pushlstring(L, res.body, res.body_len);
        push_headers(L, res.head, res.head_len);
        n = 3;
    }
    tray_xfer_release(x);
    return n;
}

static int l_session_close(lua_State *L)
{
    session_ud *u = check_session(L, 1);
    if (u->s) {
        tray_session_close(u->s);
        u->s = NULL;
    }
    return 0;
}

static int l_session_closed(lua_State *L)
{
    lua_pushboolean(L, check_session(L, 1)->s == NULL);
    return 1;
}

/* ---- multi ---- */

static multi_ud *check_multi(lua_State *L, int idx)
{
    multi_ud *u = (multi_ud *)luaL_checkudata(L, idx, MULTI_MT);
    if (!u->m)
        luaL_error(L, "tray.native: the multi handle is closed");
    return u;
}

static int l_multi(lua_State *L)
{
    multi_ud *u = (multi_ud *)lua_newuserdata(L, sizeof *u);
    u->m = NULL;
    luaL_getmetatable(L, MULTI_MT);
    lua_setmetatable(L, -2);
    u->m = tray_multi_new();
    if (!u->m)
        return push_failure(L, "network", "curl_multi_init failed", NULL);
    return 1;
}

static int l_multi_add(lua_State *L)
{
    multi_ud *u = check_multi(L, 1);
    tray_session *s = live_session(L, 2);
    long long id = (long long)luaL_checknumber(L, 3);
    const char *lines[MAX_HEADERS];
    const char *kind, *message, *bad;
    tray_request r;
    tray_xfer *x;

    if ((bad = read_request(L, 4, &r, lines)) != NULL)
        return push_failure(L, "usage", bad, NULL);
    x = tray_xfer_prepare(s, &r, &kind, &message);
    if (!x)
        return push_failure(L, kind, message, NULL);
    tray_xfer_set_id(x, id);
    if (tray_multi_add(u->m, x) != 0) {
        tray_xfer_release(x);
        return push_failure(L, "network", "curl_multi_add_handle failed", NULL);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_multi_poll(lua_State *L)
{
    multi_ud *u = check_multi(L, 1);
    double timeout = luaL_optnumber(L, 2, 0);
    tray_result res;
    tray_xfer *x;
    int i = 0;

    if (tray_multi_run(u->m, timeout) != 0)
        return push_failure(L, "network", "the libcurl multi loop failed", NULL);
    lua_newtable(L);
    while ((x = tray_multi_done(u->m, &res)) != NULL) {
        lua_createtable(L, 0, 5);
        lua_pushnumber(L, (lua_Number)tray_xfer_id(x));
        lua_setfield(L, -2, "id");
        lua_pushinteger(L, res.status);
        lua_setfield(L, -2, "status");
        if (res.kind) {
            lua_pushstring(L, res.kind);
            lua_setfield(L, -2, "kind");
            lua_pushstring(L, res.message);
            lua_setfield(L, -2, "message");
            if (res.detail) {
                lua_pushstring(L, res.detail);
                lua_setfield(L, -2, "detail");
            }
        } else {
            lua_pushlstring(L, res.body, res.body_len);
            lua_setfield(L, -2, "body");
            push_headers(L, res.head, res.head_len);
            lua_setfield(L, -2, "headers");
        }
        tray_xfer_release(x);
        lua_rawseti(L, -2, ++i);
    }
    return 1;
}

static int l_multi_count(lua_State *L)
{
    lua_pushinteger(L, tray_multi_count(check_multi(L, 1)->m));
    return 1;
}

static int l_multi_close(lua_State *L)
{
    multi_ud *u = (multi_ud *)luaL_checkudata(L, 1, MULTI_MT);
    if (u->m) {
        tray_multi_free(u->m);
        u->m = NULL;
    }
    return 0;
}

/* ---- limiter ---- */

static int l_limiter(lua_State *L)
{
    const char *key = luaL_checkstring(L, 1);
    double rate = luaL_checknumber(L, 2);
    double burst = luaL_checknumber(L, 3);
    limiter_ud *u;
    if (!(rate > 0) || !(burst >= 1))
        return push_failure(L, "usage", "rate_limit needs rate > 0 and burst >= 1", NULL);
    u = (limiter_ud *)lua_newuserdata(L, sizeof *u);
    u->b = NULL;
    luaL_getmetatable(L, LIMITER_MT);
    lua_setmetatable(L, -2);
    u->b = tray_bucket_get(key, rate, burst);
    if (!u->b)
        return push_failure(L, "network", "out of memory", NULL);
    return 1;
}

static tray_bucket *check_bucket(lua_State *L)
{
    limiter_ud *u = (limiter_ud *)luaL_checkudata(L, 1, LIMITER_MT);
    if (!u->b)
        luaL_error(L, "tray.native: the limiter is closed");
    return u->b;
}

static int l_limiter_reserve(lua_State *L)
{
    lua_pushnumber(L, tray_bucket_reserve(check_bucket(L)));
    return 1;
}

static int l_limiter_info(lua_State *L)
{
    double rate, burst;
    tray_bucket_info(check_bucket(L), &rate, &burst);
    lua_pushnumber(L, rate);
    lua_pushnumber(L, burst);
    return 2;
}

static int l_limiter_close(lua_State *L)
{
    limiter_ud *u = (limiter_ud *)luaL_checkudata(L, 1, LIMITER_MT);
    if (u->b) {
        tray_bucket_put(u->b);
        u->b = NULL;
    }
    return 0;
}

/* ---- functions ---- */

static int l_now(lua_State *L)
{
    lua_pushnumber(L, tray_now());
    return 1;
}

/* Jitter for retry backoffs: one xorshift64* generator for the process, seeded
 * from /dev/urandom (and the time and pid) on first use and again in a child
 * after fork (nginx workers fork from the master, which may have loaded this
 * module: each worker must get its own sequence). A mutex guards it, so any
 * number of Lua states and threads can draw from it. */
static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rng_state;
static pid_t rng_pid;

static void rng_seed(void)
{
    uint64_t seed = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&seed, sizeof seed, 1, f) != 1)
            seed = 0;
        (void)fclose(f); /* read-only: nothing to flush */
    }
    seed ^= (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)getpid() << 32) ^ (uint64_t)tray_now();
    rng_state = seed ? seed : 0x9E3779B97F4A7C15ULL;
    rng_pid = getpid();
}

static double rng_unit(void)
{
    uint64_t x;
    pthread_mutex_lock(&rng_lock);
    if (rng_state == 0 || rng_pid != getpid())
        rng_seed();
    x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    pthread_mutex_unlock(&rng_lock);
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static int l_jitter(lua_State *L)
{
    lua_pushnumber(L, rng_unit());
    return 1;
}

static int l_sleep(lua_State *L)
{
    tray_sleep(luaL_checknumber(L, 1));
    return 0;
}

static int l_retry_after(lua_State *L)
{
    size_t len;
    const char *v = luaL_checklstring(L, 1, &len);
    int64_t now = (int64_t)luaL_optnumber(L, 2, (lua_Number)time(NULL));
    double secs = tray_retry_after(v, len, now);
    if (secs < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, secs);
    return 1;
}

static int l_escape(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char stackbuf[768], *out = stackbuf;
    size_t n;
    if (len > sizeof stackbuf / 3) {
        out = (char *)lua_newuserdata(L, len * 3);
    }
    n = tray_escape(s, len, out);
    lua_pushlstring(L, out, n);
    return 1;
}

static int l_header_safe(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_pushboolean(L, !tray_header_unsafe(s, len));
    return 1;
}

static int l_digest(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char out[17];
    tray_digest(s, len, out);
    lua_pushstring(L, out);
    return 1;
}

static int l_curl_version(lua_State *L)
{
    lua_pushstring(L, curl_version());
    return 1;
}

void tray_lua_newtype(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
#if TRAY_HAVE_CLOSE
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__close");
#endif
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

int luaopen_tray_native(lua_State *L)
{
    static const luaL_Reg session_methods[] = {
        { "request", l_session_request },
        { "close", l_session_close },
        { "closed", l_session_closed },
        { NULL, NULL }
    };
    static const luaL_Reg multi_methods[] = {
        { "add", l_multi_add },
        { "poll", l_multi_poll },
        { "count", l_multi_count },
        { "close", l_multi_close },
        { NULL, NULL }
    };
    static const luaL_Reg limiter_methods[] = {
        { "reserve", l_limiter_reserve },
        { "info", l_limiter_info },
        { "close", l_limiter_close },
        { NULL, NULL }
    };
    static const luaL_Reg functions[] = {
        { "session", l_session },
        { "multi", l_multi },
        { "limiter", l_limiter },
        { "now", l_now },
        { "sleep", l_sleep },
        { "jitter", l_jitter },
        { "retry_after", l_retry_after },
        { "escape", l_escape },
        { "header_safe", l_header_safe },
        { "digest", l_digest },
        { "curl_version", l_curl_version },
        { NULL, NULL }
    };

    pthread_once(&curl_once, curl_init);
    tray_lua_newtype(L, SESSION_MT, session_methods, l_session_close);
    tray_lua_newtype(L, MULTI_MT, multi_methods, l_multi_close);
    tray_lua_newtype(L, LIMITER_MT, limiter_methods, l_limiter_close);
    luaL_newlib(L, functions);
    tray_redis_luaopen(L); /* native.redis, native.redis_limiter, native.redis_url */
    tray_http1_luaopen(L); /* native.http1_request, native.http1_parser (nginx backend) */
    lua_pushliteral(L, TRAY_NATIVE_VERSION);
    lua_setfield(L, -2, "VERSION");
    return 1;
}
