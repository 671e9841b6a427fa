/*
 * curl_loop.c: the floor of the per-request benchmark. The same HTTP request
 * as the SDK sends, made with libcurl on ONE reused easy handle (so the
 * connection is kept alive), with the SDK's easy-handle options and header
 * lines, the response body and headers received into memory, nothing decoded.
 *
 *   curl_loop URL BODY_FILE N WARMUP USER_AGENT
 *   environment: BENCH_TOKEN (the bearer token); BENCH_MINIMAL=1: the minimal
 *   loop instead (one reused easy handle, the bearer and content-type lines,
 *   POSTFIELDS, a write callback that discards: no other option)
 *
 * Prints one line per measured request (after WARMUP unmeasured ones): its
 * wall time in microseconds (CLOCK_MONOTONIC). Exits 1 if any request fails or
 * answers something other than HTTP 200.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        char *q;
        while (c < b->len + n)
            c *= 2;
        q = realloc(b->data, c);
        if (!q)
            return 0;
        b->data = q;
        b->cap = c;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return n;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    *(size_t *)ud += size * nmemb;
    return size * nmemb;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static char *read_file(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)*len + 1);
    if (p && fread(p, 1, (size_t)*len, f) != (size_t)*len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    const char *token = getenv("BENCH_TOKEN");
    char *body, *auth;
    long body_len, n, warmup, i, status = 0;
    int failed = 0;
    const char *minimal_env = getenv("BENCH_MINIMAL");
    int minimal = minimal_env && strcmp(minimal_env, "1") == 0;
    size_t discarded = 0;
    CURL *e;
    struct curl_slist *headers = NULL;
    buf rbody = { NULL, 0, 0 }, rhead = { NULL, 0, 0 };
    double *samples;

    if (argc != 6 || !token) {
        fprintf(stderr, "usage: BENCH_TOKEN=... curl_loop URL BODY_FILE N WARMUP USER_AGENT\n");
        return 2;
    }
    body = read_file(argv[2], &body_len);
    n = atol(argv[3]);
    warmup = atol(argv[4]);
    if (!body || n < 1 || warmup < 0) {
        fprintf(stderr, "curl_loop: cannot read %s or bad N/WARMUP\n", argv[2]);
        return 2;
    }
    samples = malloc(sizeof *samples * (size_t)n);
    auth = malloc(strlen(token) + 32);
    if (!samples || !auth)
        return 2;
    sprintf(auth, "Authorization: Bearer %s", token);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    e = curl_easy_init();
    if (minimal) {
        /* the least a libcurl client can do for this request */
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &discarded);
        headers = curl_slist_append(headers, "Content-Type: application/json");
        headers = curl_slist_append(headers, auth);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_URL, argv[1]);
    } else {
        /* the same options as the SDK's easy handles (csrc/http.c easy_new) */
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(e, CURLOPT_USERAGENT, argv[5]);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &rbody);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &rhead);
        /* the same header lines, in the same order */
        headers = curl_slist_append(headers, "Accept: application/json");
        headers = curl_slist_append(headers, "Content-Type: application/json");
        headers = curl_slist_append(headers, "Expect:");
        headers = curl_slist_append(headers, auth);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_URL, argv[1]);
    }
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);

    for (i = 0; i < warmup + n; i++) {
        double t0 = now_us();
        CURLcode rc;
        rbody.len = rhead.len = 0;
        discarded = 0;
        rc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200 || (rbody.len == 0 && discarded == 0)) {
            fprintf(stderr, "curl_loop: request %ld failed: %s (HTTP %ld)\n", i, curl_easy_strerror(rc), status);
            failed = 1;
            break;
        }
        if (i >= warmup)
            samples[i - warmup] = now_us() - t0;
    }
    if (!failed) {
        for (i = 0; i < n; i++)
            printf("%.3f\n", samples[i]);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    curl_global_cleanup();
    memset(auth, 0, strlen(auth));
    free(auth);
    free(samples);
    free(body);
    free(rbody.data);
    free(rhead.data);
    return failed;
}
