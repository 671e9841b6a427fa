/*
 * redis_lua.c: the Lua face of redis.c.
 *
 *   native.redis{ url =, timeout = 0.1, backoff = 5 } -> conn | nil, kind, message
 *     conn:reserve(key, rate, burst) -> seconds | nil, kind, message
 *     conn:get(key) -> value | nil (no such key) | nil, kind, message
 *     conn:set(key, value[, ttl_seconds]) -> true | nil, kind, message
 *     conn:del(key) -> true | nil, kind, message
 *     conn:ping() -> true | nil, kind, message
 *     conn:close()                                      (also __gc / __close)
 *   native.redis_limiter{ url =, key =, rate =, burst =, timeout =, backoff = } -> lim
 *     lim:reserve() -> seconds | nil, kind, message    lim:info() -> rate, burst
 *     lim:close()                                       (also __gc / __close)
 *   native.redis_url(url) -> { host =, port =, db =, user =, password = bool } | nil, "usage", message
 *
 * Nothing here opens a connection: the first command does. Messages name the
 * server (host:port) and the command, never a key's value or the password.
 */
#include "luatype.h"
#include "redis.h"
#include "tray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_MT "tray.native.redis"
#define REDIS_LIMITER_MT "tray.native.redis_limiter"

#define DEFAULT_TIMEOUT 0.1
#define DEFAULT_BACKOFF 5.0

typedef struct { tray_redis *r; } redis_ud;

typedef struct {
    tray_redis *r;
    char *key;
    size_t key_len;
    double rate, burst;
} redis_limiter_ud;

static int fail3(lua_State *L, const char *kind, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, kind);
    lua_pushstring(L, message);
    return 3;
}

static double field_number(lua_State *L, const char *key, double dflt)
{
    double v;
    lua_getfield(L, 1, key);
    v = lua_isnil(L, -1) ? dflt : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Opens (or shares) the connection of options table 1. */
static tray_redis *open_from_options(lua_State *L, const char **err)
{
    const char *url;
    double timeout, backoff;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "url");
    url = lua_tostring(L, -1);
    if (!url || lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        *err = "url must be a redis:// URL";
        return NULL;
    }
    timeout = field_number(L, "timeout", DEFAULT_TIMEOUT);
    backoff = field_number(L, "backoff", DEFAULT_BACKOFF);
    {
        tray_redis *r = tray_redis_get(url, timeout, backoff, err);
        lua_pop(L, 1);
        return r;
    }
}

/* ---- connection ---- */

static tray_redis *live_conn(lua_State *L)
{
    redis_ud *u = (redis_ud *)luaL_checkudata(L, 1, REDIS_MT);
    if (!u->r)
        luaL_error(L, "tray.native: the Redis connection is closed");
    return u->r;
}

static int l_redis(lua_State *L)
{
    const char *err = NULL;
    redis_ud *u;
    tray_redis *r = open_from_options(L, &err);
    if (!r)
        return fail3(L, "usage", err);
    u = (redis_ud *)lua_newuserdata(L, sizeof *u);
    u->r = r;
    luaL_getmetatable(L, REDIS_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int push_reserve(lua_State *L, tray_redis *r, const char *key, size_t key_len,
                        double rate, double burst)
{
    char msg[TRAY_REDIS_MSG_MAX];
    double wait = 0;
    const char *kind = tray_redis_reserve(r, key, key_len, rate, burst, &wait, msg);
    if (kind)
        return fail3(L, kind, msg);
    lua_pushnumber(L, wait);
    return 1;
}

static int l_redis_reserve(lua_State *L)
{
    tray_redis *r = live_conn(L);
    size_t key_len;
    const char *key = luaL_checklstring(L, 2, &key_len);
    double rate = luaL_checknumber(L, 3);
    double burst = luaL_checknumber(L, 4);
    if (!(rate > 0) || !(burst >= 1))
        return fail3(L, "usage", "reserve needs rate > 0 and burst >= 1");
    return push_reserve(L, r, key, key_len, rate, burst);
}

/* Runs argv and pushes: the string (GET), nil (no key), or true. */
static int run_command(lua_State *L, tray_redis *r, int argc, const char **argv, const size_t *lens)
{
    char msg[TRAY_REDIS_MSG_MAX];
    tray_redis_reply reply;
    const char *kind = tray_redis_command(r, argc, argv, lens, &reply, msg);
    if (kind) {
        free(reply.str);
        return fail3(L, kind, msg);
    }
    if (reply.nil)
        lua_pushnil(L);
    else if (strcmp(argv[0], "GET") == 0 && reply.str)
        lua_pushlstring(L, reply.str, reply.len);
    else
        lua_pushboolean(L, 1);
    free(reply.str);
    return 1;
}

static int l_redis_get(lua_State *L)
{
    tray_redis *r = live_conn(L);
    const char *argv[2];
    size_t lens[2];
    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = luaL_checklstring(L, 2, &lens[1]);
    return run_command(L, r, 2, argv, lens);
}

static int l_redis_set(lua_State *L)
{
    tray_redis *r = live_conn(L);
    const char *argv[5];
    size_t lens[5];
    char px[32];
    int argc = 3;
    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = luaL_checklstring(L, 2, &lens[1]);
    argv[2] = luaL_checklstring(L, 3, &lens[2]);
    if (!lua_isnoneornil(L, 4)) {
        double ttl = luaL_checknumber(L, 4);
        double ms = ttl * 1000.0;
        if (!(ms >= 1) || ms > 1e15)
            return fail3(L, "usage", "ttl must be at least 0.001 seconds");
        snprintf(px, sizeof px, "%.0f", ms);
        argv[3] = "PX";
        lens[3] = 2;
        argv[4] = px;
        lens[4] = strlen(px);
        argc = 5;
    }
    return run_command(L, r, argc, argv, lens);
}

static int l_redis_del(lua_State *L)
{
    tray_redis *r = live_conn(L);
    const char *argv[2];
    size_t lens[2];
    argv[0] = "DEL";
    lens[0] = 3;
    argv[1] = luaL_checklstring(L, 2, &lens[1]);
    return run_command(L, r, 2, argv, lens);
}

static int l_redis_ping(lua_State *L)
{
    tray_redis *r = live_conn(L);
    const char *argv[1] = { "PING" };
    size_t lens[1] = { 4 };
    return run_command(L, r, 1, argv, lens);
}

static int l_redis_close(lua_State *L)
{
    redis_ud *u = (redis_ud *)luaL_checkudata(L, 1, REDIS_MT);
    if (u->r) {
        tray_redis_put(u->r);
        u->r = NULL;
    }
    return 0;
}

/* ---- limiter ---- */

static redis_limiter_ud *live_limiter(lua_State *L)
{
    redis_limiter_ud *u = (redis_limiter_ud *)luaL_checkudata(L, 1, REDIS_LIMITER_MT);
    if (!u->r)
        luaL_error(L, "tray.native: the Redis limiter is closed");
    return u;
}

static int l_redis_limiter(lua_State *L)
{
    const char *err = NULL, *key;
    size_t key_len;
    double rate, burst;
    redis_limiter_ud *u;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "key");
    key = lua_tolstring(L, -1, &key_len);
    if (!key || lua_type(L, -1) != LUA_TSTRING || key_len == 0) {
        lua_pop(L, 1);
        return fail3(L, "usage", "key must be a non-empty string");
    }
    /* no defaults here: tray.redis passes both (tray.gcra defines them) */
    rate = field_number(L, "rate", 0);
    burst = field_number(L, "burst", 0);
    if (!(rate > 0) || !(burst >= 1))
        return fail3(L, "usage", "rate_limit needs rate > 0 and burst >= 1");
    u = (redis_limiter_ud *)lua_newuserdata(L, sizeof *u);
    memset(u, 0, sizeof *u);
    luaL_getmetatable(L, REDIS_LIMITER_MT);
    lua_setmetatable(L, -2);
    u->key = malloc(key_len + 1);
    if (!u->key)
        return fail3(L, "network", "out of memory");
    memcpy(u->key, key, key_len + 1);
    u->key_len = key_len;
    u->rate = rate;
    u->burst = burst;
    u->r = open_from_options(L, &err);
    if (!u->r)
        return fail3(L, "usage", err);
    return 1;
}

static int l_redis_limiter_reserve(lua_State *L)
{
    redis_limiter_ud *u = live_limiter(L);
    return push_reserve(L, u->r, u->key, u->key_len, u->rate, u->burst);
}

static int l_redis_limiter_info(lua_State *L)
{
    redis_limiter_ud *u = live_limiter(L);
    lua_pushnumber(L, u->rate);
    lua_pushnumber(L, u->burst);
    return 2;
}

static int l_redis_limiter_close(lua_State *L)
{
    redis_limiter_ud *u = (redis_limiter_ud *)luaL_checkudata(L, 1, REDIS_LIMITER_MT);
    if (u->r) {
        tray_redis_put(u->r);
        u->r = NULL;
    }
    free(u->key);
    u->key = NULL;
    return 0;
}

/* ---- URL ---- */

static int l_redis_url(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *err = NULL;
    tray_redis_url u;
    if (tray_redis_url_parse(s, len, &u, &err) != 0) {
        memset(&u, 0, sizeof u);
        return fail3(L, "usage", err);
    }
    lua_createtable(L, 0, 5);
    lua_pushstring(L, u.host);
    lua_setfield(L, -2, "host");
    lua_pushinteger(L, u.port);
    lua_setfield(L, -2, "port");
    lua_pushinteger(L, u.db);
    lua_setfield(L, -2, "db");
    lua_pushstring(L, u.user);
    lua_setfield(L, -2, "user");
    lua_pushboolean(L, u.has_password);
    lua_setfield(L, -2, "password");
    memset(&u, 0, sizeof u);
    return 1;
}

void tray_redis_luaopen(lua_State *L)
{
    static const luaL_Reg conn_methods[] = {
        { "reserve", l_redis_reserve },
        { "get", l_redis_get },
        { "set", l_redis_set },
        { "del", l_redis_del },
        { "ping", l_redis_ping },
        { "close", l_redis_close },
        { NULL, NULL }
    };
    static const luaL_Reg limiter_methods[] = {
        { "reserve", l_redis_limiter_reserve },
        { "info", l_redis_limiter_info },
        { "close", l_redis_limiter_close },
        { NULL, NULL }
    };
    static const luaL_Reg functions[] = {
        { "redis", l_redis },
        { "redis_limiter", l_redis_limiter },
        { "redis_url", l_redis_url },
        { NULL, NULL }
    };
    tray_lua_newtype(L, REDIS_MT, conn_methods, l_redis_close);
    tray_lua_newtype(L, REDIS_LIMITER_MT, limiter_methods, l_redis_limiter_close);
    luaL_setfuncs(L, functions, 0);
}
