/*
 * http.h: sessions (a pool of reusable easy handles sharing one connection
 * cache) and the multi loop that drives many transfers at once.
 */
#ifndef TRAY_HTTP_H
#define TRAY_HTTP_H

#include <curl/curl.h>

/* The most header lines a request may carry (besides Expect and Authorization). */
#define TRAY_MAX_HEADERS 64

typedef struct tray_session tray_session;
typedef struct tray_xfer tray_xfer;
typedef struct tray_multi tray_multi;

typedef struct {
    double timeout;         /* seconds for a whole request */
    double connect_timeout; /* seconds to connect */
    const char *user_agent;
    const char *ca_file;    /* NULL: the system store */
    const char *proxy;      /* NULL: libcurl's proxy variables; "" : no proxy */
    double max_body;        /* bytes; larger responses are refused */
} tray_session_opts;

typedef struct {
    const char *method;
    const char *url;
    const char *const *headers; /* "Name: value" lines, already checked */
    size_t nheaders;
    const char *body;           /* may be NULL */
    size_t body_len;
    const char *token;          /* bearer token, may be NULL */
    size_t token_len;
} tray_request;

typedef struct {
    long status;                /* 0 when no HTTP answer */
    const char *body;
    size_t body_len;
    const char *head;           /* header pairs "name\0value\0..." */
    size_t head_len;
    const char *kind;           /* NULL on success, else the error kind */
    const char *message;
    const char *detail;         /* "unsent" when no byte of the request left */
} tray_result;

/* Sessions are reference counted: the Lua userdata holds one reference and
 * every transfer in flight holds one, so a session collected mid-use is freed
 * when its last transfer ends. */
tray_session *tray_session_new(const tray_session_opts *o, const char **err);
void tray_session_close(tray_session *s);
int tray_session_closed(const tray_session *s);

/* Takes a transfer from the session's pool and configures it for r. On a bad
 * request returns NULL with *kind = "usage" and a message. */
tray_xfer *tray_xfer_prepare(tray_session *s, const tray_request *r,
                             const char **kind, const char **message);
void tray_xfer_perform(tray_xfer *x, tray_result *res);  /* blocking */
void tray_xfer_release(tray_xfer *x);                    /* back to the pool */
void tray_xfer_set_id(tray_xfer *x, long long id);
long long tray_xfer_id(const tray_xfer *x);

tray_multi *tray_multi_new(void);
int tray_multi_add(tray_multi *m, tray_xfer *x);
int tray_multi_count(const tray_multi *m);
/* Runs transfers, waiting up to timeout seconds for activity when nothing has
 * finished yet. Returns 0, or -1 on a multi-level failure. */
int tray_multi_run(tray_multi *m, double timeout);
/* The next finished transfer (removed from the multi) with its result, or NULL. */
tray_xfer *tray_multi_done(tray_multi *m, tray_result *res);
void tray_multi_free(tray_multi *m);

#endif /* TRAY_HTTP_H */
