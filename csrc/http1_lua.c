/*
 * http1_lua.c: the Lua side of http1.c, for the nginx cosocket backend
 * (lua/tray/backend/ngx.lua). (native.jitter, which that backend also uses,
 * is module.c's.)
 *
 *   bytes, scheme, host, port = native.http1_request(method, url, lines, body, token, user_agent)
 *       (or nil, "usage", message)
 *   p = native.http1_parser(max_body, head_only)
 *   p:feed(bytes)  -> true (complete) | false (more needed) | nil, kind, message
 *   p:eof()        -> the same, when the peer closed the connection
 *   p:response()   -> status, body, headers (lower-case names; repeats joined by ", "), keepalive
 *   p:close()      (also __gc, and __close on Lua 5.4)
 */
#include "args.h"
#include "compat.h"
#include "http1.h"
#include "luatype.h"
#include "tray.h"

#include <string.h>

#define PARSER_MT "tray.native.http1_parser"

typedef struct {
    tray_h1_parser p;
    int live;
} parser_ud;

static int failure(lua_State *L, const char *kind, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, kind);
    lua_pushstring(L, message);
    return 3;
}

static int l_request(lua_State *L)
{
    const char *ua = luaL_optstring(L, 6, NULL);
    const char *lines[TRAY_MAX_HEADERS];
    const char *err;
    tray_request r;
    tray_buf out = { NULL, 0, 0 };
    tray_h1_target t;

    /* the reader session:request uses (args.c): strings only, never converted (a
     * converted header would not be held by its table), NUL bytes and lengths bounded */
    if ((err = tray_read_request(L, 1, &r, lines)) != NULL)
        return failure(L, "usage", err);
    if (ua && tray_header_unsafe(ua, strlen(ua)))
        return failure(L, "usage", "user_agent holds a control character");
    err = tray_h1_request(&out, &t, r.method, r.url, strlen(r.url), r.headers, r.nheaders, r.body_len,
                          r.body != NULL, r.token, r.token_len, ua);
    if (err) {
        tray_buf_free(&out);
        return failure(L, "usage", err);
    }
    /* one string: head and body go out in one send */
    if (r.body_len > 0) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addlstring(&b, out.data, out.len);
        luaL_addlstring(&b, r.body, r.body_len);
        tray_buf_free(&out);
        luaL_pushresult(&b);
    } else {
        lua_pushlstring(L, out.data, out.len);
        tray_buf_free(&out);
    }
    lua_pushstring(L, t.https ? "https" : "http");
    lua_pushstring(L, t.host);
    lua_pushinteger(L, t.port);
    return 4;
}

static int l_parser(lua_State *L)
{
    const size_t cap = ((size_t)-1) / 2;
    lua_Number max = luaL_checknumber(L, 1);
    int head_only = lua_toboolean(L, 2);
    parser_ud *u;
    if (!(max > 0))
        return luaL_error(L, "tray.native: max_body must be positive");
    u = (parser_ud *)lua_newuserdata(L, sizeof *u);
    u->live = 0;
    luaL_getmetatable(L, PARSER_MT);
    lua_setmetatable(L, -2);
    tray_h1_parser_init(&u->p, max >= (lua_Number)cap ? cap : (size_t)max, head_only);
    u->live = 1;
    return 1;
}

static tray_h1_parser *check_parser(lua_State *L)
{
    parser_ud *u = (parser_ud *)luaL_checkudata(L, 1, PARSER_MT);
    if (!u->live)
        luaL_error(L, "tray.native: the parser is closed");
    return &u->p;
}

static int push_state(lua_State *L, tray_h1_parser *p, tray_h1_state st)
{
    if (st == TRAY_H1_ERROR)
        return failure(L, p->kind, p->message);
    lua_pushboolean(L, st == TRAY_H1_DONE);
    return 1;
}

static int l_feed(lua_State *L)
{
    tray_h1_parser *p = check_parser(L);
    size_t n;
    const char *d = luaL_checklstring(L, 2, &n);
    return push_state(L, p, tray_h1_feed(p, d, n));
}

static int l_eof(lua_State *L)
{
    tray_h1_parser *p = check_parser(L);
    return push_state(L, p, tray_h1_eof(p));
}

static int l_response(lua_State *L)
{
    tray_h1_parser *p = check_parser(L);
    size_t i = 0;
    if (p->state != TRAY_H1_DONE)
        return luaL_error(L, "tray.native: the response is not complete");
    lua_pushinteger(L, p->status);
    lua_pushlstring(L, p->body.data ? p->body.data : "", p->body.len);
    lua_createtable(L, 0, 8);
    while (i < p->head.len) {
        const char *name = p->head.data + i;
        size_t nl = strlen(name);
        const char *value = name + nl + 1;
        size_t vl = strlen(value);
        lua_pushlstring(L, name, nl);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, value, vl);
        } else {
            /* a repeated field: its values joined, in order (RFC 9110 5.3) */
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, value, vl);
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
        i += nl + vl + 2;
    }
    lua_pushboolean(L, p->keepalive && !p->extra);
    return 4;
}

static int l_parser_close(lua_State *L)
{
    parser_ud *u = (parser_ud *)luaL_checkudata(L, 1, PARSER_MT);
    if (u->live) {
        tray_h1_parser_free(&u->p);
        u->live = 0;
    }
    return 0;
}

void tray_http1_luaopen(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "feed", l_feed },
        { "eof", l_eof },
        { "response", l_response },
        { "close", l_parser_close },
        { NULL, NULL }
    };
    tray_lua_newtype(L, PARSER_MT, methods, l_parser_close);
    lua_pushcfunction(L, l_request);
    lua_setfield(L, -2, "http1_request");
    lua_pushcfunction(L, l_parser);
    lua_setfield(L, -2, "http1_parser");
}
