/*
 * args.c: a request's arguments, read from the Lua stack without converting
 * anything (see args.h).
 */
#include "args.h"
#include "tray.h"

#include <string.h>

/* A string at idx (not converted: a number is refused), with no NUL byte and at
 * most max bytes. Returns NULL, or the message of a usage error. */
static const char *string_at(lua_State *L, int idx, size_t max, const char *what_type,
                             const char *what_long, const char **out, size_t *len)
{
    static const char NUL_MSG[] = "the method, the URL or a header holds a NUL byte";
    const char *s;
    if (lua_type(L, idx) != LUA_TSTRING)
        return what_type;
    s = lua_tolstring(L, idx, len);
    if (strlen(s) != *len)
        return NUL_MSG;
    if (*len > max)
        return what_long;
    *out = s;
    return NULL;
}

const char *tray_read_request(lua_State *L, int first, tray_request *r, const char **lines)
{
    const char *bad;
    size_t n = 0, len;
    int t = first + 2;

    memset(r, 0, sizeof *r);
    if ((bad = string_at(L, first, 16, "the method must be a string", "the method is too long",
                         &r->method, &len)) != NULL)
        return bad;
    if ((bad = string_at(L, first + 1, TRAY_MAX_URL, "the URL must be a string",
                         "the URL is longer than 64 KiB (an argument too long?)", &r->url, &len)) != NULL)
        return bad;
    if (!lua_isnoneornil(L, t)) {
        size_t i;
        if (lua_type(L, t) != LUA_TTABLE)
            return "the headers must be a table of strings";
        n = lua_rawlen(L, t);
        if (n > TRAY_MAX_HEADERS)
            return "too many headers";
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, t, (int)i + 1);
            /* a string is kept alive by the table once popped; anything else is refused */
            bad = string_at(L, -1, TRAY_MAX_HEADER, "a header must be a string",
                            "a header is longer than 16 KiB", &lines[i], &len);
            lua_pop(L, 1);
            if (bad)
                return bad;
        }
    }
    r->headers = lines;
    r->nheaders = n;
    if (!lua_isnoneornil(L, first + 3)) {
        if (lua_type(L, first + 3) != LUA_TSTRING)
            return "the body must be a string";
        r->body = lua_tolstring(L, first + 3, &r->body_len);
    }
    if (!lua_isnoneornil(L, first + 4)) {
        if (lua_type(L, first + 4) != LUA_TSTRING)
            return "the token must be a string";
        r->token = lua_tolstring(L, first + 4, &r->token_len);
        if (r->token_len > TRAY_MAX_HEADER)
            return "the token is longer than 16 KiB";
    }
    return NULL;
}
