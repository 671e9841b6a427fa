/*
 * luatype.h: the one way the module's files make a userdata type: a named
 * metatable (so `__name` shows in errors on 5.3+) with `__index` methods,
 * `__gc` and, on 5.4, `__close` pointing at the same idempotent cleanup, and
 * a locked `__metatable`. Defined in module.c.
 */
#ifndef TRAY_LUATYPE_H
#define TRAY_LUATYPE_H

#include "compat.h"

void tray_lua_newtype(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close);

#endif /* TRAY_LUATYPE_H */
