/*
 * http1.c: HTTP/1.1 framing for backends that move the bytes themselves
 * (see http1.h). The request side refuses what could split a header (CR, LF,
 * NUL and other control characters) and writes the bearer header itself; the
 * response side is an incremental parser that bounds every buffer it keeps.
 */
#include "http1.h"
#include "tray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers (buf.h: wiped before they are freed or moved, they may hold a token) ---- */

static int buf_str(tray_buf *b, const char *s)
{
    return tray_buf_add(b, s, strlen(s));
}

/* ---- small character classes ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_blank(char c) { return c == ' ' || c == '\t'; }
static char lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        return "abcdefghijklmnopqrstuvwxyz"[c - 'A'];
    return c;
}

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t i, blen = strlen(b);
    if (alen != blen)
        return 0;
    for (i = 0; i < alen; i++) {
        if (lower(a[i]) != b[i])
            return 0;
    }
    return 1;
}

/* ---- the request ---- */

static const char *const METHODS[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL };

/* Header names the request writes itself: a caller's line may not set them. */
static const char *const RESERVED[] = {
    "host", "authorization", "content-length", "transfer-encoding", "connection", NULL
};

static const char *parse_target(tray_h1_target *t, const char *url, size_t len, size_t *path_at)
{
    static const char BAD[] = "the URL must be http(s)://host[:port]/path";
    size_t i = 0, a, aend, hs, he, ps;
    long port = 0;

    while (i < len && url[i] != ':')
        i++;
    if (ieq(url, i, "https"))
        t->https = 1;
    else if (ieq(url, i, "http"))
        t->https = 0;
    else
        return BAD;
    if (len - i < 3 || memcmp(url + i, "://", 3) != 0)
        return BAD;
    a = i + 3;
    aend = a;
    while (aend < len && url[aend] != '/' && url[aend] != '?' && url[aend] != '#')
        aend++;
    if (aend == a)
        return BAD;
    for (i = a; i < aend; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c == '@')
            return "the URL must not hold a user name or password";
        if (c <= 0x20 || c >= 0x7f)
            return BAD;
    }
    if (url[a] == '[') {
        hs = a + 1;
        he = hs;
        while (he < aend && url[he] != ']')
            he++;
        if (he == aend || he == hs)
            return BAD;
        ps = he + 1;
    } else {
        hs = a;
        he = hs;
        while (he < aend && url[he] != ':')
            he++;
        if (he == hs)
            return BAD;
        ps = he;
    }
    if (ps < aend) {
        if (url[ps] != ':' || ps + 1 == aend)
            return BAD;
        for (i = ps + 1; i < aend; i++) {
            if (!is_digit(url[i]) || port > 65535)
                return BAD;
            port = port * 10 + (url[i] - '0');
        }
        if (port < 1 || port > 65535)
            return BAD;
    } else {
        port = t->https ? 443 : 80;
    }
    if (he - hs >= sizeof t->host)
        return BAD;
    memcpy(t->host, url + hs, he - hs);
    t->host[he - hs] = '\0';
    t->port = (int)port;
    t->authority = a;
    t->authority_len = aend - a;
    *path_at = aend;
    return NULL;
}

/* The request target: path and query as written, a fragment dropped, bytes a
 * request line cannot carry percent-encoded (controls are refused earlier). */
static int add_target(tray_buf *out, const char *p, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t i;
    const char *hash = memchr(p, '#', n);
    if (hash)
        n = (size_t)(hash - p);
    if (n == 0 || p[0] != '/') {
        if (tray_buf_add(out, "/", 1) != 0)
            return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == ' ' || c >= 0x7f) {
            char enc[3];
            enc[0] = '%';
            enc[1] = HEX[c >> 4];
            enc[2] = HEX[c & 15];
            if (tray_buf_add(out, enc, 3) != 0)
                return -1;
        } else if (tray_buf_add(out, (const char *)&p[i], 1) != 0) {
            return -1;
        }
    }
    return 0;
}

static const char *check_line(const char *h)
{
    size_t len = strlen(h), n = 0, k;
    if (tray_header_unsafe(h, len))
        return "a header holds a control character or is not \"Name: value\"";
    while (n < len && is_tchar((unsigned char)h[n]))
        n++;
    if (n == 0 || n >= len || h[n] != ':')
        return "a header holds a control character or is not \"Name: value\"";
    for (k = 0; RESERVED[k]; k++) {
        if (ieq(h, n, RESERVED[k]))
            return "a header line may not set Host, Authorization, Content-Length, Transfer-Encoding or Connection";
    }
    return NULL;
}

const char *tray_h1_request(tray_buf *out, tray_h1_target *t,
                            const char *method, const char *url, size_t url_len,
                            const char *const *lines, size_t nlines,
                            size_t body_len, int has_body,
                            const char *token, size_t token_len,
                            const char *user_agent)
{
    const char *err;
    size_t path_at, i;
    int k, sends_body;
    char num[32];

    out->len = 0;
    for (k = 0; METHODS[k]; k++) {
        if (strcmp(method, METHODS[k]) == 0)
            break;
    }
    if (!METHODS[k])
        return "unsupported HTTP method";
    if (tray_header_unsafe(url, url_len) || memchr(url, ' ', url_len))
        return "the URL holds a space or a control character";
    if ((err = parse_target(t, url, url_len, &path_at)) != NULL)
        return err;
    if (token) {
        if (token_len == 0)
            return "the token is empty";
        if (tray_header_unsafe(token, token_len))
            return "the token holds a control character (CR, LF, NUL ...)";
    }
    if (user_agent && tray_header_unsafe(user_agent, strlen(user_agent)))
        return "user_agent holds a control character";
    for (i = 0; i < nlines; i++) {
        if ((err = check_line(lines[i])) != NULL)
            return err;
    }
    sends_body = has_body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                 strcmp(method, "PATCH") == 0;
    if (buf_str(out, method) || tray_buf_add(out, " ", 1) ||
        add_target(out, url + path_at, url_len - path_at) ||
        buf_str(out, " HTTP/1.1\r\nHost: ") ||
        tray_buf_add(out, url + t->authority, t->authority_len) || tray_buf_add(out, "\r\n", 2))
        goto oom;
    if (user_agent && (buf_str(out, "User-Agent: ") || buf_str(out, user_agent) || tray_buf_add(out, "\r\n", 2)))
        goto oom;
    for (i = 0; i < nlines; i++) {
        if (buf_str(out, lines[i]) || tray_buf_add(out, "\r\n", 2))
            goto oom;
    }
    if (token && (buf_str(out, "Authorization: Bearer ") || tray_buf_add(out, token, token_len) ||
                  tray_buf_add(out, "\r\n", 2)))
        goto oom;
    if (sends_body) {
        snprintf(num, sizeof num, "%lu", (unsigned long)body_len);
        if (buf_str(out, "Content-Length: ") || buf_str(out, num) || tray_buf_add(out, "\r\n", 2))
            goto oom;
    }
    if (buf_str(out, "Connection: keep-alive\r\n\r\n"))
        goto oom;
    return NULL;
oom:
    tray_wipe(out->data, out->cap);
    out->len = 0;
    return "out of memory";
}

/* ---- the response parser ---- */

static const char MALFORMED[] = "the server's answer is not valid HTTP/1.1";
static const char TOO_LARGE[] = "the response body is larger than max_body";

void tray_h1_parser_init(tray_h1_parser *p, size_t max_body, int head_only)
{
    memset(p, 0, sizeof *p);
    p->state = TRAY_H1_HEAD;
    p->max_body = max_body;
    p->head_only = head_only;
}

void tray_h1_parser_free(tray_h1_parser *p)
{
    tray_buf_free(&p->line);
    tray_buf_free(&p->head);
    tray_buf_free(&p->body);
}

static tray_h1_state fail(tray_h1_parser *p, const char *kind, const char *message)
{
    p->state = TRAY_H1_ERROR;
    p->kind = kind;
    p->message = message;
    p->keepalive = 0;
    return p->state;
}

static tray_h1_state oom(tray_h1_parser *p)
{
    return fail(p, "network", "out of memory");
}

/* Does the comma-separated list v hold the token t (case-insensitive)? With
 * last set: is t the list's last element? */
static int list_has(const char *v, size_t n, const char *t, int last)
{
    size_t i = 0;
    int found = 0;
    while (i < n) {
        size_t s, e;
        while (i < n && (is_blank(v[i]) || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && is_blank(v[e - 1]))
            e--;
        if (e > s) {
            found = ieq(v + s, e - s, t);
            if (found && !last)
                return 1;
        }
    }
    return last ? found : 0;
}

typedef struct {
    int has_length, te, te_chunked, conn_close, conn_keepalive;
    size_t length;
    int length_overflow;
} framing;

static int parse_length(const char *v, size_t n, size_t *out, int *overflow)
{
    size_t i, x = 0;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (!is_digit(v[i]))
            return 0;
        if (x > (((size_t)-1) - 9) / 10)
            *overflow = 1;
        else
            x = x * 10 + (size_t)(v[i] - '0');
    }
    *out = x;
    return 1;
}

/* One header line of the final response. Returns 0, or -1 (malformed) or -2 (memory). */
static int take_header(tray_h1_parser *p, framing *f, const char *line, size_t len)
{
    const char *name, *value;
    size_t nl, vl, i;

    if (len > 0 && is_blank(line[0]))
        return -1; /* obsolete line folding */
    if (!tray_header_split(line, len, &name, &nl, &value, &vl))
        return -1;
    if (ieq(name, nl, "content-length")) {
        size_t v = 0;
        int over = 0;
        if (!parse_length(value, vl, &v, &over))
            return -1;
        if (f->has_length && (v != f->length || over != f->length_overflow))
            return -1;
        f->has_length = 1;
        f->length = v;
        f->length_overflow = over;
    } else if (ieq(name, nl, "transfer-encoding")) {
        f->te = 1;
        f->te_chunked = list_has(value, vl, "chunked", 1);
    } else if (ieq(name, nl, "connection")) {
        if (list_has(value, vl, "close", 0))
            f->conn_close = 1;
        if (list_has(value, vl, "keep-alive", 0))
            f->conn_keepalive = 1;
    }
    if (tray_buf_reserve(&p->head, nl + vl + 2) != 0)
        return -2;
    for (i = 0; i < nl; i++)
        p->head.data[p->head.len++] = lower(name[i]);
    p->head.data[p->head.len++] = '\0';
    memcpy(p->head.data + p->head.len, value, vl);
    p->head.len += vl;
    p->head.data[p->head.len++] = '\0';
    return 0;
}

/* The head in p->line is complete: status line and headers. */
static tray_h1_state take_head(tray_h1_parser *p)
{
    const char *s = p->line.data, *end = s + p->line.len, *nl;
    framing f;
    int status;

    memset(&f, 0, sizeof f);
    nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl || nl - s < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) || s[8] != ' ' ||
        !is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]))
        return fail(p, "network", MALFORMED);
    if (nl - s > 12 && s[12] != ' ' && s[12] != '\r')
        return fail(p, "network", MALFORMED);
    status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (status < 100 || status > 599)
        return fail(p, "network", MALFORMED);
    if (status == 101)
        return fail(p, "network", "the server switched protocols (101), which tray never asks for");
    if (status < 200) {
        p->line.len = 0; /* 100 Continue, 103 Early Hints ...: the final answer follows */
        return p->state;
    }
    p->status = status;
    p->minor = s[7] - '0';
    p->head.len = 0;
    s = nl + 1;
    while (s < end) {
        size_t len;
        int rc;
        nl = memchr(s, '\n', (size_t)(end - s));
        len = (size_t)(nl - s);
        if (len > 0 && s[len - 1] == '\r')
            len--;
        if (len == 0)
            break; /* the empty line that ends the head */
        rc = take_header(p, &f, s, len);
        if (rc == -2)
            return oom(p);
        if (rc != 0)
            return fail(p, "network", MALFORMED);
        s = nl + 1;
    }
    p->line.len = 0;
    p->keepalive = p->minor >= 1 ? !f.conn_close : (f.conn_keepalive && !f.conn_close);
    if (p->head_only || status == 204 || status == 304)
        return p->state = TRAY_H1_DONE;
    if (f.te) {
        if (f.te_chunked)
            return p->state = TRAY_H1_CHUNK_SIZE;
        p->keepalive = 0;
        return p->state = TRAY_H1_BODY_CLOSE;
    }
    if (f.has_length) {
        if (f.length_overflow || f.length > p->max_body)
            return fail(p, "decode", TOO_LARGE);
        if (f.length == 0)
            return p->state = TRAY_H1_DONE;
        if (tray_buf_reserve(&p->body, f.length) != 0)
            return oom(p);
        p->remaining = f.length;
        return p->state = TRAY_H1_BODY_LENGTH;
    }
    p->keepalive = 0;
    return p->state = TRAY_H1_BODY_CLOSE;
}

/* Appends up to the next LF (inclusive) to p->line, at most max bytes in all.
 * Returns the bytes consumed; *complete is set when the LF arrived. */
static size_t take_line(tray_h1_parser *p, const char *d, size_t n, size_t max, int *complete, int *over)
{
    const char *nl = memchr(d, '\n', n);
    size_t take = nl ? (size_t)(nl - d) + 1 : n;
    *complete = nl != NULL;
    *over = 0;
    if (p->line.len + take > max) {
        *over = 1;
        return 0;
    }
    if (tray_buf_add(&p->line, d, take) != 0) {
        *over = -1;
        return 0;
    }
    return take;
}

static int body_add(tray_h1_parser *p, const char *d, size_t n)
{
    if (n > p->max_body - p->body.len)
        return 1;
    return tray_buf_add(&p->body, d, n) != 0 ? -1 : 0;
}

static tray_h1_state chunk_size(tray_h1_parser *p)
{
    const char *s = p->line.data;
    size_t len = p->line.len, i = 0, size = 0;
    int any = 0;

    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    while (i < len && hex_value(s[i]) >= 0) {
        if (size > (((size_t)-1) >> 4))
            return fail(p, "decode", TOO_LARGE);
        size = size * 16 + (size_t)hex_value(s[i]);
        i++;
        any = 1;
    }
    while (i < len && is_blank(s[i]))
        i++;
    if (!any || (i < len && s[i] != ';'))
        return fail(p, "network", MALFORMED);
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(p, "network", MALFORMED);
    }
    p->line.len = 0;
    if (size == 0)
        return p->state = TRAY_H1_TRAILERS;
    if (size > p->max_body - p->body.len)
        return fail(p, "decode", TOO_LARGE);
    p->remaining = size;
    return p->state = TRAY_H1_CHUNK_DATA;
}

tray_h1_state tray_h1_feed(tray_h1_parser *p, const char *d, size_t n)
{
    while (n > 0) {
        size_t take;
        int complete, over, rc;
        switch (p->state) {
        case TRAY_H1_HEAD:
            take = take_line(p, d, n, TRAY_H1_HEAD_MAX, &complete, &over);
            if (over)
                return over < 0 ? oom(p) : fail(p, "network", "the response headers are too large");
            d += take;
            n -= take;
            if (complete) {
                const char *s = p->line.data;
                size_t len = p->line.len;
                if ((len == 1 && s[0] == '\n') || (len == 2 && s[0] == '\r')) {
                    p->line.len = 0; /* blank lines before the status line */
                } else if ((len >= 2 && s[len - 2] == '\n') ||
                           (len >= 3 && s[len - 3] == '\n' && s[len - 2] == '\r')) {
                    if (take_head(p) == TRAY_H1_ERROR)
                        return p->state;
                }
            }
            break;
        case TRAY_H1_BODY_LENGTH:
        case TRAY_H1_CHUNK_DATA:
            take = n < p->remaining ? n : p->remaining;
            rc = body_add(p, d, take);
            if (rc != 0)
                return rc > 0 ? fail(p, "decode", TOO_LARGE) : oom(p);
            d += take;
            n -= take;
            p->remaining -= take;
            if (p->remaining == 0)
                p->state = p->state == TRAY_H1_BODY_LENGTH ? TRAY_H1_DONE : TRAY_H1_CHUNK_END;
            break;
        case TRAY_H1_CHUNK_SIZE:
            take = take_line(p, d, n, TRAY_H1_LINE_MAX, &complete, &over);
            if (over)
                return over < 0 ? oom(p) : fail(p, "network", MALFORMED);
            d += take;
            n -= take;
            if (complete && chunk_size(p) == TRAY_H1_ERROR)
                return p->state;
            break;
        case TRAY_H1_CHUNK_END:
            take = take_line(p, d, n, 2, &complete, &over);
            if (over)
                return over < 0 ? oom(p) : fail(p, "network", MALFORMED);
            d += take;
            n -= take;
            if (complete) {
                if (!(p->line.len == 1 || (p->line.len == 2 && p->line.data[0] == '\r')))
                    return fail(p, "network", MALFORMED);
                p->line.len = 0;
                p->state = TRAY_H1_CHUNK_SIZE;
            }
            break;
        case TRAY_H1_TRAILERS:
            /* trailer fields are read and dropped; p->remaining counts their bytes */
            take = take_line(p, d, n, TRAY_H1_LINE_MAX * 8, &complete, &over);
            if (over || p->remaining + take > TRAY_H1_HEAD_MAX)
                return over < 0 ? oom(p) : fail(p, "network", "the response trailers are too large");
            d += take;
            n -= take;
            p->remaining += take;
            if (complete) {
                size_t len = p->line.len;
                int blank = len == 1 || (len == 2 && p->line.data[0] == '\r');
                p->line.len = 0;
                if (blank) {
                    p->remaining = 0;
                    p->state = TRAY_H1_DONE;
                }
            }
            break;
        case TRAY_H1_BODY_CLOSE:
            rc = body_add(p, d, n);
            if (rc != 0)
                return rc > 0 ? fail(p, "decode", TOO_LARGE) : oom(p);
            n = 0;
            break;
        case TRAY_H1_DONE:
            p->extra = 1; /* more than one answer to one request: never reuse this connection */
            p->keepalive = 0;
            return p->state;
        case TRAY_H1_ERROR:
        default:
            return p->state;
        }
    }
    return p->state;
}

tray_h1_state tray_h1_eof(tray_h1_parser *p)
{
    p->keepalive = 0;
    if (p->state == TRAY_H1_BODY_CLOSE)
        p->state = TRAY_H1_DONE;
    else if (p->state != TRAY_H1_DONE && p->state != TRAY_H1_ERROR)
        return fail(p, "network", "the connection closed before the response was complete");
    return p->state;
}
