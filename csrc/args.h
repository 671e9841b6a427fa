/*
 * args.h: reading a request's arguments from the Lua stack (args.c; it has a
 * fuzz target, fuzz/request_args.c).
 */
#ifndef TRAY_ARGS_H
#define TRAY_ARGS_H

#include "compat.h"
#include "http.h"

/* TRAY_MAX_HEADERS (the most header lines a request may carry) is in http.h. */
/* Bounds on what a caller may send: longer is a usage error, never a network one. */
#define TRAY_MAX_URL ((size_t)64 * 1024)    /* bytes of a URL */
#define TRAY_MAX_HEADER ((size_t)16 * 1024) /* bytes of one header line, and of a token */

/* Reads (method, url, headers, body, token) from stack positions first..first+4
 * into r; lines (TRAY_MAX_HEADERS entries) receives the header lines. Every
 * pointer set points into a string held by the stack or by the header table,
 * which the caller keeps until it is done with r: values that are not strings
 * are refused, never converted (a converted temporary would not be held).
 * Returns NULL, or the message of a usage error. Never raises. */
const char *tray_read_request(lua_State *L, int first, tray_request *r, const char **lines);

#endif /* TRAY_ARGS_H */
