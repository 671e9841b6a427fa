/*
 * http.c: one request on a reused libcurl easy handle, and the multi loop.
 *
 * A session owns a share handle (connection cache, DNS cache, TLS sessions)
 * and a small pool of configured easy handles: a blocking request borrows one,
 * a concurrent run borrows one per transfer, and all of them reuse the same
 * kept-alive connections. Redirects are never followed, so a bearer token can
 * never travel to another host.
 */
#include "http.h"
#include "buf.h"
#include "tray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_KEEP 16           /* idle easy handles kept per session */
#define HEAD_MAX ((size_t)64 * 1024)   /* response header bytes kept per transfer */
#define BODY_KEEP ((size_t)256 * 1024) /* buffer capacity kept by a pooled transfer */
#define LINES_MAX (TRAY_MAX_HEADERS + 2) /* the caller's lines, Expect, Authorization */

struct tray_xfer {
    CURL *easy;
    tray_session *session;
    /* the request's header list, built without allocating: the nodes live here
     * and point into `lines` (the text, kept between requests; wiped on release) */
    struct curl_slist nodes[LINES_MAX];
    tray_buf lines;
    tray_buf body;
    tray_buf head;
    int too_large;
    CURLcode rc;                /* result, once finished in a multi */
    long long id;
    char errbuf[CURL_ERROR_SIZE];
    tray_xfer *next, *prev;
};

struct tray_session {
    CURLSH *share;
    tray_xfer *pool;
    int pooled;
    long timeout_ms, connect_timeout_ms;
    char *user_agent, *ca_file, *proxy;
    curl_off_t max_body;
    int refs;
    int closed;
};

struct tray_multi {
    CURLM *multi;
    tray_xfer *active;          /* transfers libcurl is running */
    tray_xfer *done, *done_tail; /* finished, not yet reported */
    int count;                  /* active + done */
};

/* ---- buffers ---- */

static void buf_trim(tray_buf *b)
{
    b->len = 0;
    if (b->cap > BODY_KEEP)
        tray_buf_free(b);
}

/* ---- callbacks ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    tray_xfer *x = ud;
    size_t n = size * nmemb;
    if ((curl_off_t)(x->body.len + n) > x->session->max_body) {
        x->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (tray_buf_add(&x->body, ptr, n) != 0)
        return 0;
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    tray_xfer *x = ud;
    size_t n = size * nmemb, name_len, value_len;
    const char *name, *value;

    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        x->head.len = 0; /* a new response (after 1xx): forget earlier headers */
        return n;
    }
    if (tray_header_split(ptr, n, &name, &name_len, &value, &value_len) &&
        x->head.len + name_len + value_len + 2 <= HEAD_MAX &&
        tray_buf_reserve(&x->head, name_len + value_len + 2) == 0) {
        size_t i;
        for (i = 0; i < name_len; i++) {
            char c = name[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            x->head.data[x->head.len++] = c;
        }
        x->head.data[x->head.len++] = '\0';
        memcpy(x->head.data + x->head.len, value, value_len);
        x->head.len += value_len;
        x->head.data[x->head.len++] = '\0';
    }
    return n;
}

/* ---- sessions ---- */

/* Seconds to whole milliseconds for libcurl, never 0 (which libcurl reads as
 * "no timeout") and never past LONG_MAX (the caller checks the range; this
 * keeps the conversion defined whatever it is given). */
static long seconds_to_ms(double seconds)
{
    double ms = seconds * 1000.0;
    if (!(ms >= 1.0))
        return 1;
    if (ms >= 2147483647.0)
        return 2147483647L;
    return (long)ms;
}

/* A byte count to curl_off_t without overflow: anything from 2^62 up is "no cap"
 * in practice and clamps there. */
static curl_off_t bytes_to_off(double bytes)
{
    if (!(bytes >= 1.0))
        return 1;
    if (bytes >= 4611686018427387904.0)
        return (curl_off_t)4611686018427387904LL;
    return (curl_off_t)bytes;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

tray_session *tray_session_new(const tray_session_opts *o, const char **err)
{
    tray_session *s = calloc(1, sizeof *s);
    if (!s) {
        *err = "out of memory";
        return NULL;
    }
    s->share = curl_share_init();
    if (!s->share) {
        free(s);
        *err = "curl_share_init failed";
        return NULL;
    }
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    s->timeout_ms = seconds_to_ms(o->timeout);
    s->connect_timeout_ms = seconds_to_ms(o->connect_timeout);
    s->user_agent = dup_or_null(o->user_agent);
    s->ca_file = dup_or_null(o->ca_file);
    s->proxy = dup_or_null(o->proxy);
    s->max_body = bytes_to_off(o->max_body);
    s->refs = 1;
    if ((o->user_agent && !s->user_agent) || (o->ca_file && !s->ca_file) || (o->proxy && !s->proxy)) {
        s->closed = 1;
        tray_session_close(s);
        *err = "out of memory";
        return NULL;
    }
    return s;
}

/* Forgets a request's header lines, wiping their text first (one holds the token). */
static void clear_lines(tray_xfer *x)
{
    if (x->lines.data)
        tray_wipe(x->lines.data, x->lines.len);
    x->lines.len = 0;
}

static void xfer_free(tray_xfer *x)
{
    if (x->easy)
        curl_easy_cleanup(x->easy);
    tray_buf_free(&x->lines);
    tray_buf_free(&x->body);
    tray_buf_free(&x->head);
    free(x);
}

static void session_unref(tray_session *s)
{
    if (--s->refs > 0)
        return;
    while (s->pool) {
        tray_xfer *x = s->pool;
        s->pool = x->next;
        xfer_free(x);
    }
    curl_share_cleanup(s->share);
    free(s->user_agent);
    free(s->ca_file);
    free(s->proxy);
    free(s);
}

void tray_session_close(tray_session *s)
{
    /* the owner's reference; idempotence is the caller's (the userdata's) job */
    s->closed = 1;
    session_unref(s);
}

int tray_session_closed(const tray_session *s)
{
    return s->closed;
}

static CURL *easy_new(tray_session *s, tray_xfer *x)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_SHARE, s->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
    if (s->user_agent)
        curl_easy_setopt(e, CURLOPT_USERAGENT, s->user_agent);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* TLS verification is always on (libcurl's default, stated here) */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
    if (s->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, s->proxy);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, s->max_body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    return e;
}

static tray_xfer *xfer_take(tray_session *s)
{
    tray_xfer *x = s->pool;
    if (x) {
        s->pool = x->next;
        s->pooled--;
    } else {
        x = calloc(1, sizeof *x);
        if (!x)
            return NULL;
        x->session = s;
        x->easy = easy_new(s, x);
        if (!x->easy) {
            free(x);
            return NULL;
        }
    }
    x->next = x->prev = NULL;
    x->too_large = 0;
    x->errbuf[0] = '\0';
    x->body.len = 0;
    x->head.len = 0;
    s->refs++;
    return x;
}

void tray_xfer_release(tray_xfer *x)
{
    tray_session *s = x->session;
    clear_lines(x);
    buf_trim(&x->lines);
    buf_trim(&x->body);
    buf_trim(&x->head);
    if (s->closed || s->pooled >= POOL_KEEP) {
        xfer_free(x);
    } else {
        x->next = s->pool;
        s->pool = x;
        s->pooled++;
    }
    session_unref(s);
}

void tray_xfer_set_id(tray_xfer *x, long long id) { x->id = id; }
long long tray_xfer_id(const tray_xfer *x) { return x->id; }

/* Appends one line (a + b, NUL-terminated) at `*at` of the transfer's line
 * buffer (already large enough) and points `node` at it. */
static void put_line(tray_xfer *x, struct curl_slist *node, size_t *at, const char *a, size_t alen,
                     const char *b, size_t blen)
{
    char *line = x->lines.data + *at;
    memcpy(line, a, alen);
    if (blen > 0)
        memcpy(line + alen, b, blen);
    line[alen + blen] = '\0';
    *at += alen + blen + 1;
    node->data = line;
}

/* Builds the header list of a request in the transfer's own memory: the
 * caller's lines, "Expect:" (no 100-continue round trip for larger bodies) and
 * the bearer line. The nodes are the transfer's and the text goes in one buffer
 * reused from request to request, so this allocates nothing once the buffer is
 * large enough. The caller checked nheaders <= TRAY_MAX_HEADERS. */
static int build_lines(tray_xfer *x, const tray_request *r)
{
    static const char EXPECT[] = "Expect:";
    static const char BEARER[] = "Authorization: Bearer ";
    size_t need = sizeof EXPECT, i, n = 0, at = 0;

    for (i = 0; i < r->nheaders; i++)
        need += strlen(r->headers[i]) + 1;
    if (r->token)
        need += sizeof BEARER - 1 + r->token_len + 1;
    x->lines.len = 0;
    if (tray_buf_reserve(&x->lines, need) != 0)
        return -1;
    for (i = 0; i < r->nheaders; i++)
        put_line(x, &x->nodes[n++], &at, r->headers[i], strlen(r->headers[i]), "", 0);
    put_line(x, &x->nodes[n++], &at, EXPECT, sizeof EXPECT - 1, "", 0);
    if (r->token)
        put_line(x, &x->nodes[n++], &at, BEARER, sizeof BEARER - 1, r->token, r->token_len);
    for (i = 0; i + 1 < n; i++)
        x->nodes[i].next = &x->nodes[i + 1];
    x->nodes[n - 1].next = NULL;
    x->lines.len = at;
    return 0;
}

static int set_method(CURL *e, const tray_request *r)
{
    const char *m = r->method;
    int has_body = r->body != NULL;
    curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    if (strcmp(m, "GET") == 0 && !has_body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return 0;
    }
    if (strcmp(m, "HEAD") == 0 && !has_body) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return 0;
    }
    if (strcmp(m, "POST") != 0 && strcmp(m, "PUT") != 0 && strcmp(m, "PATCH") != 0 &&
        strcmp(m, "DELETE") != 0)
        return -1;
    if (has_body || strcmp(m, "DELETE") != 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, has_body ? r->body : "");
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (strcmp(m, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    return 0;
}

tray_xfer *tray_xfer_prepare(tray_session *s, const tray_request *r,
                             const char **kind, const char **message)
{
    tray_xfer *x;
    size_t i;

    *kind = "usage";
    if (s->closed) {
        *message = "the client is closed";
        return NULL;
    }
    if (r->token) {
        if (r->token_len == 0) {
            *message = "the token is empty";
            return NULL;
        }
        if (tray_header_unsafe(r->token, r->token_len)) {
            *message = "the token holds a control character (CR, LF, NUL ...)";
            return NULL;
        }
    }
    if (r->nheaders > TRAY_MAX_HEADERS) {
        *message = "too many headers";
        return NULL;
    }
    for (i = 0; i < r->nheaders; i++) {
        const char *h = r->headers[i];
        if (tray_header_unsafe(h, strlen(h)) || !strchr(h, ':')) {
            *message = "a header holds a control character or is not \"Name: value\"";
            return NULL;
        }
    }
    x = xfer_take(s);
    if (!x) {
        *kind = "network";
        *message = "out of memory";
        return NULL;
    }
    if (set_method(x->easy, r) != 0) {
        tray_xfer_release(x);
        *message = "unsupported HTTP method";
        return NULL;
    }
    if (build_lines(x, r) != 0)
        goto oom;
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->nodes);
    if (curl_easy_setopt(x->easy, CURLOPT_URL, r->url) != CURLE_OK)
        goto oom;
    return x;
oom:
    tray_xfer_release(x);
    *kind = "network";
    *message = "out of memory";
    return NULL;
}

static const char *curl_kind(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "usage";
    default:
        return "network";
    }
}

static void xfer_result(tray_xfer *x, CURLcode rc, tray_result *res)
{
    long status = 0, sent = 0;

    memset(res, 0, sizeof *res);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
    /* the header list (with the token) is wiped on release: unhook it now */
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    res->head = x->head.data;
    res->head_len = x->head.len;
    if (rc == CURLE_OK) {
        res->status = status;
        res->body = x->body.data ? x->body.data : "";
        res->body_len = x->body.len;
        return;
    }
    res->status = status;
    if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        res->kind = "decode";
        res->message = "the response body is larger than max_body";
        return;
    }
    res->kind = curl_kind(rc);
    res->message = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_UNSUPPORTED_PROTOCOL && sent > 0) {
        /* the request went out: the answer is what was not HTTP (e.g. garbage
         * after "100 Continue", read as HTTP/0.9), the server's fault, not the caller's */
        res->kind = "decode";
        res->message = "the server's answer is not HTTP";
        return;
    }
    if (sent == 0)
        res->detail = "unsent"; /* no byte of the request left: safe to retry */
}

void tray_xfer_perform(tray_xfer *x, tray_result *res)
{
    CURLcode rc = curl_easy_perform(x->easy);
    xfer_result(x, rc, res);
}

/* ---- multi ---- */

tray_multi *tray_multi_new(void)
{
    tray_multi *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m);
        return NULL;
    }
    return m;
}

int tray_multi_add(tray_multi *m, tray_xfer *x)
{
    if (curl_multi_add_handle(m->multi, x->easy) != CURLM_OK)
        return -1;
    x->prev = NULL;
    x->next = m->active;
    if (m->active)
        m->active->prev = x;
    m->active = x;
    m->count++;
    return 0;
}

int tray_multi_count(const tray_multi *m)
{
    return m->count;
}

static void multi_unlink(tray_multi *m, tray_xfer *x)
{
    curl_multi_remove_handle(m->multi, x->easy);
    if (x->prev)
        x->prev->next = x->next;
    else
        m->active = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
}

/* Moves every finished transfer from libcurl's message queue to ours. */
static void multi_collect(tray_multi *m)
{
    int queued = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m->multi, &queued)) != NULL) {
        tray_xfer *x = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        x->rc = msg->data.result; /* read before the handle is removed */
        multi_unlink(m, x);
        x->next = NULL;
        if (m->done_tail)
            m->done_tail->next = x;
        else
            m->done = x;
        m->done_tail = x;
    }
}

int tray_multi_run(tray_multi *m, double timeout)
{
    int running = 0;
    if (curl_multi_perform(m->multi, &running) != CURLM_OK)
        return -1;
    multi_collect(m);
    if (m->done || !(timeout > 0))
        return 0;
    if (curl_multi_poll(m->multi, NULL, 0, (int)(timeout * 1000), NULL) != CURLM_OK)
        return -1;
    if (curl_multi_perform(m->multi, &running) != CURLM_OK)
        return -1;
    multi_collect(m);
    return 0;
}

tray_xfer *tray_multi_done(tray_multi *m, tray_result *res)
{
    tray_xfer *x = m->done;
    if (!x)
        return NULL;
    m->done = x->next;
    if (!m->done)
        m->done_tail = NULL;
    x->next = NULL;
    m->count--;
    xfer_result(x, x->rc, res);
    return x;
}

void tray_multi_free(tray_multi *m)
{
    while (m->active) {
        tray_xfer *x = m->active;
        multi_unlink(m, x);
        tray_xfer_release(x);
    }
    while (m->done) {
        tray_xfer *x = m->done;
        m->done = x->next;
        tray_xfer_release(x);
    }
    curl_multi_cleanup(m->multi);
    free(m);
}
