/*
 * compat.h: the few lines that differ between Lua 5.4 and LuaJIT 2.1 (Lua 5.1 API).
 *
 * LuaJIT 2.1 already ships luaL_setfuncs/luaL_newlib (it defines luaL_newlibtable),
 * so only a plain Lua 5.1 needs the fallbacks below.
 */
#ifndef TRAY_COMPAT_H
#define TRAY_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#  define lua_rawlen(L, i) lua_objlen(L, (i))
#  ifndef luaL_newlibtable
#    define luaL_newlibtable(L, l) lua_createtable(L, 0, (int)(sizeof(l) / sizeof((l)[0]) - 1))
#    define luaL_newlib(L, l) (luaL_newlibtable(L, l), luaL_setfuncs(L, l, 0))
static void luaL_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    for (; l->name != NULL; l++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#  endif
#endif

/* Lua 5.4 calls __close when a to-be-closed variable goes out of scope. */
#if LUA_VERSION_NUM >= 504
#  define TRAY_HAVE_CLOSE 1
#else
#  define TRAY_HAVE_CLOSE 0
#endif

#endif /* TRAY_COMPAT_H */
