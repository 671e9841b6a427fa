/* tray_read_request: the arguments of session:request and multi:add, read from
 * the Lua stack (issue 14: a number in the header list was converted to a
 * temporary string, popped, then read after the collector had freed it).
 *
 * fuzz-with: csrc/args.c
 * fuzz-pkg: lua5.4
 *
 * The bytes are a small program that builds the five arguments (strings,
 * numbers, booleans, tables, nil) and a header table of any of them. The
 * reader runs in a protected call with the collector running at every
 * allocation; every pointer it sets is then read whole after a full
 * collection, so a pointer into a string nobody holds is a use-after-free that
 * AddressSanitizer reports. The contract: either a usage message, or every
 * field points at a string of the stack or the header table, with the lengths
 * the bounds of args.h allow. */
#include "fuzz.h"
#include "args.h"

#include <lualib.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static int take(input *in)
{
    int c;
    if (in->n == 0)
        return -1;
    c = in->p[0];
    in->p++;
    in->n--;
    return c;
}

/* Pushes one value described by the input (a table: an empty one). */
static void push_scalar(lua_State *L, input *in, int c)
{
    int len;
    switch (c < 0 ? 0 : c % 7) {
    case 0:
        lua_pushnil(L);
        break;
    case 1: /* a string of up to 255 input bytes (NULs and CRs included) */
        len = take(in);
        if (len < 0)
            len = 0;
        if ((size_t)len > in->n)
            len = (int)in->n;
        lua_pushlstring(L, (const char *)in->p, (size_t)len);
        in->p += len;
        in->n -= (size_t)len;
        break;
    case 2: /* a number: converted to a string by a reader that is not careful */
        lua_pushnumber(L, (lua_Number)take(in) * 1.5);
        break;
    case 3:
        lua_pushinteger(L, take(in));
        break;
    case 4:
        lua_pushboolean(L, take(in) & 1);
        break;
    case 5: /* a long string (bounds) */
        len = take(in);
        if (len < 0)
            len = 0;
        {
            size_t big = (size_t)len * 1024;
            char *s = malloc(big + 1);
            if (!s) {
                lua_pushnil(L);
                break;
            }
            memset(s, 'a', big);
            lua_pushlstring(L, s, big);
            free(s);
        }
        break;
    default:
        lua_newtable(L);
        break;
    }
}

/* Pushes one value; a table holds values of the input (a header list when it
 * is the third argument). */
static void push_value(lua_State *L, input *in)
{
    int c = take(in);
    if (c >= 0 && c % 7 == 6) {
        int i, count = take(in);
        lua_newtable(L);
        for (i = 1; count > 0 && i <= count % 80; i++) {
            push_scalar(L, in, take(in));
            lua_rawseti(L, -2, i);
        }
        return;
    }
    push_scalar(L, in, c);
}

static int run(lua_State *L)
{
    input *in = (input *)lua_touserdata(L, 1);
    const char *lines[TRAY_MAX_HEADERS];
    const char *bad;
    tray_request r;
    size_t i, sum = 0;
    int k;

    lua_settop(L, 0);
    for (k = 0; k < 5; k++)
        push_value(L, in);
    bad = tray_read_request(L, 1, &r, lines);
    /* everything not held by the stack or the header table is now freed */
    lua_gc(L, LUA_GCCOLLECT, 0);
    if (bad) {
        FUZZ_CHECK(strlen(bad) > 0);
        return 0;
    }
    FUZZ_CHECK(lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING);
    FUZZ_CHECK(r.method == lua_tostring(L, 1) && r.url == lua_tostring(L, 2));
    FUZZ_CHECK(strlen(r.url) <= TRAY_MAX_URL);
    FUZZ_CHECK(r.nheaders <= TRAY_MAX_HEADERS);
    for (i = 0; i < r.nheaders; i++) {
        size_t n = strlen(r.headers[i]); /* reads the whole string: ASan sees a freed one */
        FUZZ_CHECK(n <= TRAY_MAX_HEADER);
        sum += n;
    }
    if (r.body) {
        FUZZ_CHECK(lua_type(L, 4) == LUA_TSTRING && r.body == lua_tostring(L, 4));
        for (i = 0; i < r.body_len; i++)
            sum += (unsigned char)r.body[i];
    }
    if (r.token) {
        FUZZ_CHECK(lua_type(L, 5) == LUA_TSTRING && r.token_len <= TRAY_MAX_HEADER);
        for (i = 0; i < r.token_len; i++)
            sum += (unsigned char)r.token[i];
    }
    lua_pushinteger(L, (lua_Integer)sum);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lua_State *L;
    input in = { data, size };
    if (!L) {
        L = luaL_newstate();
        if (!L)
            return 0;
    }
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_settop(L, 0);
    lua_pushcfunction(L, run);
    lua_pushlightuserdata(L, &in);
    /* a raise (out of memory) is not a finding: the reader itself never raises */
    (void)lua_pcall(L, 1, 0, 0);
    return 0;
}
