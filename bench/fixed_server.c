/*
 * fixed_server.c: a minimal HTTP/1.1 keep-alive server for the per-request
 * benchmark. Every request gets the same small GraphQL answer (one user of
 * `users(first: 1)`), so what the benchmark measures is the client's cost, not
 * the server's.
 *
 *   fixed_server [--port N]   (0 or absent: a free port)
 *   first stdout line: "fixed-server listening on http://127.0.0.1:PORT"
 *
 * It also checks that the clients send the same request: the first request
 * after start (or after GET /_bench/reset) becomes the reference, and every
 * later one is compared with it, byte for byte ("exact") or, failing that, as
 * the same request line, the same body and the same set of header lines
 * ("same"; LuaSocket's header order is that of Lua's pairs(), and it always adds
 * "TE" and "Connection: close, TE", which are left out of that comparison).
 * GET /_bench/stats answers the counts since the previous stats call as JSON
 * and starts counting again; GET /_bench/reference the byte counts of the
 * reference request's head and body and of the answer body;
 * GET /_bench/reference/raw the reference request itself (head, blank line,
 * body); GET /_bench/reset forgets the reference. /_bench/ requests are never
 * compared.
 *
 * One thread, poll(), non-blocking sockets; answers "Connection: close" requests
 * and then closes. SIGTERM/SIGINT end it.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONN 256
#define MAX_REQ (1024 * 1024)

static const char BODY[] =
    "{\"data\":{\"users\":{\"edges\":[{\"cursor\":\"YXJyYXljb25uZWN0aW9uOjA=\",\"node\":"
    "{\"name\":\"Ada Lovelace\",\"id\":\"7d3b1a52-8f0e-4c6a-9b21-5e4f3a2c1d0e\","
    "\"externalUserId\":\"ada-1\",\"isTestUser\":false}}],\"pageInfo\":{\"hasNextPage\":true,"
    "\"endCursor\":\"YXJyYXljb25uZWN0aW9uOjA=\",\"hasPreviousPage\":false,"
    "\"startCursor\":\"YXJyYXljb25uZWN0aW9uOjA=\"}}}}";

typedef struct {
    int fd;
    char *in;
    size_t len, cap;
    char *out;
    size_t out_len, out_off;
    int close_after;
} conn;

typedef struct {
    char *data;      /* head (without the blank line) and body, as received */
    size_t head_len; /* bytes of the head */
    size_t len;      /* head + body */
} request_copy;

static volatile sig_atomic_t stopping = 0;
static conn conns[MAX_CONN];
static int nconns = 0;
static request_copy reference;
static long n_requests, n_exact, n_same, n_mismatch;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        char *q;
        while (c < *len + n)
            c *= 2;
        q = realloc(*buf, c);
        if (!q)
            return -1;
        *buf = q;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

/* Value of header `name` in head[0..len), or NULL; *vlen gets its length. */
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', len), *end = head + len;
    while (p && p + 1 < end) {
        const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol < end ? eol : NULL;
    }
    return NULL;
}

static int has_token(const char *v, size_t vlen, const char *token)
{
    size_t tl = strlen(token), i;
    for (i = 0; i + tl <= vlen; i++) {
        if (strncasecmp(v + i, token, tl) == 0)
            return 1;
    }
    return 0;
}

/* ---- comparing requests ---- */

typedef struct {
    const char *p;
    size_t n;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* Splits a head into its request line (out[0]) and its header lines, sorted,
 * leaving out Connection, TE and Keep-Alive. Returns the number of spans. */
static size_t split_head(const char *head, size_t len, span *out, size_t max)
{
    size_t n = 0;
    const char *p = head, *end = head + len;
    while (p < end && n < max) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *le;
        if (!eol)
            eol = end;
        le = eol;
        if (le > p && le[-1] == '\r')
            le--;
        if (n == 0 || !(strncasecmp(p, "Connection:", 11) == 0 || strncasecmp(p, "TE:", 3) == 0 ||
                        strncasecmp(p, "Keep-Alive:", 11) == 0)) {
            out[n].p = p;
            out[n].n = (size_t)(le - p);
            n++;
        }
        p = eol + 1;
    }
    if (n > 1)
        qsort(out + 1, n - 1, sizeof *out, span_cmp);
    return n;
}

static void compare(const char *head, size_t head_len, const char *body, size_t body_len)
{
    span a[64], b[64];
    size_t na, nb, i;

    n_requests++;
    if (!reference.data) {
        reference.data = malloc(head_len + body_len + 1);
        if (!reference.data) {
            n_mismatch++;
            return;
        }
        memcpy(reference.data, head, head_len);
        memcpy(reference.data + head_len, body, body_len);
        reference.head_len = head_len;
        reference.len = head_len + body_len;
        n_exact++;
        return;
    }
    if (body_len != reference.len - reference.head_len ||
        memcmp(body, reference.data + reference.head_len, body_len) != 0) {
        n_mismatch++;
        return;
    }
    if (head_len == reference.head_len && memcmp(head, reference.data, head_len) == 0) {
        n_exact++;
        return;
    }
    na = split_head(head, head_len, a, 64);
    nb = split_head(reference.data, reference.head_len, b, 64);
    if (na != nb) {
        n_mismatch++;
        return;
    }
    for (i = 0; i < na; i++) {
        if (span_cmp(&a[i], &b[i]) != 0) {
            n_mismatch++;
            return;
        }
    }
    n_same++;
}

/* ---- answering ---- */

static int queue(conn *c, const char *p, size_t n)
{
    char *q = realloc(c->out, c->out_len + n);
    if (!q)
        return -1;
    memcpy(q + c->out_len, p, n);
    c->out = q;
    c->out_len += n;
    return 0;
}

static int answer(conn *c, int status, const char *body, size_t body_len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                     status, status == 200 ? "OK" : "Not Found", body_len,
                     c->close_after ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    if (queue(c, head, (size_t)n) != 0 || queue(c, body, body_len) != 0)
        return -1;
    return 0;
}

static int control(conn *c, const char *path, size_t plen)
{
    char buf[256];
    int n;
    if (plen == 13 && memcmp(path, "/_bench/stats", 13) == 0) {
        n = snprintf(buf, sizeof buf, "{\"requests\":%ld,\"exact\":%ld,\"same\":%ld,\"mismatch\":%ld}",
                     n_requests, n_exact, n_same, n_mismatch);
        n_requests = n_exact = n_same = n_mismatch = 0;
    } else if (plen == 13 && memcmp(path, "/_bench/reset", 13) == 0) {
        free(reference.data);
        reference.data = NULL;
        reference.head_len = reference.len = 0;
        n_requests = n_exact = n_same = n_mismatch = 0;
        n = snprintf(buf, sizeof buf, "{}");
    } else if (plen == 17 && memcmp(path, "/_bench/reference", 17) == 0) {
        n = snprintf(buf, sizeof buf, "{\"head\":%zu,\"body\":%zu,\"answer\":%zu}", reference.head_len,
                     reference.len - reference.head_len, sizeof BODY - 1);
    } else if (plen == 21 && memcmp(path, "/_bench/reference/raw", 21) == 0) {
        /* the reference request as received: head, blank line, body */
        char *raw;
        int rc;
        if (!reference.data)
            return answer(c, 404, "{}", 2);
        raw = malloc(reference.len + 4);
        if (!raw)
            return -1;
        memcpy(raw, reference.data, reference.head_len);
        memcpy(raw + reference.head_len, "\r\n\r\n", 4);
        memcpy(raw + reference.head_len + 4, reference.data + reference.head_len,
               reference.len - reference.head_len);
        rc = answer(c, 200, raw, reference.len + 4);
        free(raw);
        return rc;
    } else {
        return answer(c, 404, "{}", 2);
    }
    return answer(c, 200, buf, (size_t)n);
}

/* Handles every complete request in c->in. Returns -1 to drop the connection. */
static int handle(conn *c)
{
    for (;;) {
        char *end = NULL;
        size_t i, head_len, body_len = 0, total, vlen;
        const char *v, *sp1, *sp2;
        for (i = 3; i < c->len; i++) {
            if (c->in[i] == '\n' && c->in[i - 1] == '\r' && c->in[i - 2] == '\n' && c->in[i - 3] == '\r') {
                end = c->in + i + 1;
                break;
            }
        }
        if (!end)
            return c->len > MAX_REQ ? -1 : 0;
        head_len = (size_t)(end - c->in) - 4;
        v = header_value(c->in, head_len, "Content-Length", &vlen);
        if (v) {
            char num[32];
            if (vlen == 0 || vlen >= sizeof num)
                return -1;
            memcpy(num, v, vlen);
            num[vlen] = '\0';
            body_len = strtoul(num, NULL, 10);
        }
        if (body_len > MAX_REQ)
            return -1;
        total = (size_t)(end - c->in) + body_len;
        if (c->len < total)
            return 0;
        v = header_value(c->in, head_len, "Connection", &vlen);
        c->close_after = v && has_token(v, vlen, "close");
        sp1 = memchr(c->in, ' ', head_len);
        sp2 = sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - c->in)) : NULL;
        if (sp1 && sp2 && (size_t)(sp2 - sp1 - 1) >= 8 && memcmp(sp1 + 1, "/_bench/", 8) == 0) {
            if (control(c, sp1 + 1, (size_t)(sp2 - sp1 - 1)) != 0)
                return -1;
        } else {
            compare(c->in, head_len, end, body_len);
            if (answer(c, 200, BODY, sizeof BODY - 1) != 0)
                return -1;
        }
        memmove(c->in, c->in + total, c->len - total);
        c->len -= total;
        if (c->close_after)
            return 0;
    }
}

static void drop(int k)
{
    close(conns[k].fd);
    free(conns[k].in);
    free(conns[k].out);
    conns[k] = conns[--nconns];
}

/* Writes what is queued. Returns -1 on a dead socket, 1 when all is written. */
static int flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (size_t)w;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    return 1;
}

int main(int argc, char **argv)
{
    int port = 0, lfd, one = 1, i;
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;
    struct sigaction sa;
    static struct pollfd pfd[MAX_CONN + 1];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        return perror("socket"), 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0)
        return perror("bind/listen"), 1;
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0)
        return perror("getsockname"), 1;
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
    printf("fixed-server listening on http://127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    while (!stopping) {
        int n, k;
        pfd[0].fd = lfd;
        pfd[0].events = POLLIN;
        for (k = 0; k < nconns; k++) {
            pfd[k + 1].fd = conns[k].fd;
            pfd[k + 1].events = (short)(conns[k].out_len ? POLLOUT : POLLIN);
            pfd[k + 1].revents = 0;
        }
        n = poll(pfd, (nfds_t)nconns + 1, 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        /* existing connections first (indices shift when one is dropped: go down) */
        for (k = nconns - 1; k >= 0; k--) {
            conn *c = &conns[k];
            short re = pfd[k + 1].revents;
            if (!re)
                continue;
            if (re & POLLOUT) {
                int f = flush(c);
                if (f < 0 || (f > 0 && c->close_after)) {
                    drop(k);
                    continue;
                }
                if (f > 0 && handle(c) == 0 && c->out_len) {
                    f = flush(c);
                    if (f < 0 || (f > 0 && c->close_after))
                        drop(k);
                }
                continue;
            }
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                char buf[16384];
                ssize_t r = recv(c->fd, buf, sizeof buf, 0);
                if (r <= 0) {
                    if (r < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                    drop(k);
                    continue;
                }
                if (append(&c->in, &c->len, &c->cap, buf, (size_t)r) != 0 || handle(c) != 0) {
                    drop(k);
                    continue;
                }
                if (c->out_len) {
                    int f = flush(c);
                    if (f < 0 || (f > 0 && c->close_after))
                        drop(k);
                }
            }
        }
        if (pfd[0].revents & POLLIN) {
            for (;;) {
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0)
                    break;
                if (nconns == MAX_CONN) {
                    close(fd);
                    continue;
                }
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                memset(&conns[nconns], 0, sizeof conns[nconns]);
                conns[nconns].fd = fd;
                nconns++;
            }
        }
    }
    while (nconns > 0)
        drop(nconns - 1);
    free(reference.data);
    close(lfd);
    return 0;
}
