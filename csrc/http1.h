/*
 * http1.h: HTTP/1.1 framing without I/O, for backends that move the bytes
 * themselves (nginx cosockets): the request bytes (built here, bearer header
 * included) and an incremental response parser. Pure C, no Lua, no libcurl:
 * fuzz/http1_parse.c drives the parser directly.
 */
#ifndef TRAY_HTTP1_H
#define TRAY_HTTP1_H

#include "buf.h"

#include <stddef.h>

#define TRAY_H1_HEAD_MAX ((size_t)64 * 1024) /* bytes of one response head (status line + headers) */
#define TRAY_H1_LINE_MAX ((size_t)1024)      /* bytes of a chunk-size line */

/* Where a URL points: scheme ("http"/"https"), host (without IPv6 brackets),
 * port, and the offsets of the authority and of the request target in url. */
typedef struct {
    int https;
    char host[256];
    int port;
    size_t authority, authority_len; /* "host[:port]" as written, for Host: */
} tray_h1_target;

/* Builds the request bytes into out (reset first):
 *   METHOD /path?query HTTP/1.1, Host, User-Agent, the given "Name: value"
 *   lines, Authorization: Bearer <token> (when token != NULL), Content-Length
 *   (when body_len > 0 or the method sends a body), Connection: keep-alive.
 * The URL's path and query are sent as written, except that bytes outside
 * printable ASCII (space, 8-bit) are percent-encoded; a fragment is dropped.
 * Returns NULL, or a static usage message (which never quotes the token or the
 * URL). On failure out holds nothing; the token's bytes never stay in freed
 * memory (the buffer is wiped before it is grown or freed). */
const char *tray_h1_request(tray_buf *out, tray_h1_target *t,
                            const char *method, const char *url, size_t url_len,
                            const char *const *lines, size_t nlines,
                            size_t body_len, int has_body,
                            const char *token, size_t token_len,
                            const char *user_agent);

/* The response parser. */
typedef enum {
    TRAY_H1_HEAD, TRAY_H1_BODY_LENGTH, TRAY_H1_CHUNK_SIZE, TRAY_H1_CHUNK_DATA,
    TRAY_H1_CHUNK_END, TRAY_H1_TRAILERS, TRAY_H1_BODY_CLOSE, TRAY_H1_DONE, TRAY_H1_ERROR
} tray_h1_state;

typedef struct {
    tray_h1_state state;
    int head_only;         /* the request was HEAD: no body whatever the headers say */
    size_t max_body;
    int status;
    int minor;             /* HTTP/1.<minor> */
    int keepalive;         /* the connection may carry another request */
    int extra;             /* bytes arrived after the end of the response */
    size_t remaining;      /* body or chunk bytes still expected */
    tray_buf line;      /* the head (or a chunk-size / trailer line) being assembled */
    tray_buf head;      /* "name\0value\0..." with lower-case names, final response only */
    tray_buf body;
    const char *kind;      /* on TRAY_H1_ERROR: "network" (malformed) or "decode" (too large) */
    const char *message;   /* static */
} tray_h1_parser;

void tray_h1_parser_init(tray_h1_parser *p, size_t max_body, int head_only);
void tray_h1_parser_free(tray_h1_parser *p);

/* Feeds n bytes. Returns the state afterwards: TRAY_H1_DONE when the
 * response is complete, TRAY_H1_ERROR (see kind/message), else more is needed. */
tray_h1_state tray_h1_feed(tray_h1_parser *p, const char *data, size_t n);

/* The peer closed the connection: completes a close-delimited body, else an
 * error (the response was cut short). Returns the state afterwards. */
tray_h1_state tray_h1_eof(tray_h1_parser *p);

/* http1_lua.c: native.http1_request and native.http1_parser into the table on
 * top of the stack. */
struct lua_State;
void tray_http1_luaopen(struct lua_State *L);

#endif /* TRAY_HTTP1_H */
