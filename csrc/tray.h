/*
 * tray.h: declarations shared by the files of the native module.
 *
 * Nothing here knows about Tray's API: this is HTTP, time, token buckets and
 * the small parsers they need. Everything not declared here is static.
 */
#ifndef TRAY_H
#define TRAY_H

#include <stddef.h>
#include <stdint.h>

/* The version is written once, in lua/tray (the Makefile passes -DTRAY_VERSION). */
#ifdef TRAY_VERSION
#define TRAY_NATIVE_VERSION TRAY_VERSION
#endif

/* ---- parse.c: pure functions over untrusted bytes (each has a fuzz target) ---- */

/* Split one response header line ("Name: value\r\n"). On success returns 1 and
 * sets name/value spans (value trimmed of surrounding blanks and the line end);
 * returns 0 for a status line, a blank line or a malformed line (including a
 * value holding NUL, CR or LF). */
int tray_header_split(const char *line, size_t len,
                      const char **name, size_t *name_len,
                      const char **value, size_t *value_len);

/* Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date
 * (IMF-fixdate, RFC 850, asctime), relative to now_epoch. Returns -1 when the
 * value is not valid; dates in the past give 0. Capped at one day. */
double tray_retry_after(const char *value, size_t len, int64_t now_epoch);

/* Percent-encode everything outside RFC 3986 "unreserved" into out, which
 * must hold 3 * len bytes. Returns the encoded length. A whole input of "." or
 * ".." is encoded entirely ("%2E%2E"), so it can never be a dot-segment. */
size_t tray_escape(const char *in, size_t len, char *out);

/* 1 when s holds a byte that must never reach a header (CR, LF, NUL or other
 * control characters except horizontal tab). */
int tray_header_unsafe(const char *s, size_t len);

/* 64-bit FNV-1a digest, written as 16 lowercase hex digits plus NUL. */
void tray_digest(const char *in, size_t len, char out[17]);

/* ---- limiter.c: token buckets shared process-wide by key ---- */

typedef struct tray_bucket tray_bucket;

double tray_now(void);                      /* monotonic seconds */
void tray_sleep(double seconds);
tray_bucket *tray_bucket_get(const char *key, double rate, double burst);
void tray_bucket_put(tray_bucket *b);
/* One GCRA step (docs/DESIGN.md, "The rate limiter (GCRA)"): *tat is the
 * bucket's theoretical arrival time (<= now: a full bucket), updated in place;
 * returns the seconds to wait (0 below TRAY_GCRA_EPSILON: rounding of the sums). */
#define TRAY_GCRA_EPSILON 1e-6
double tray_gcra(double *tat, double now, double rate, double burst);
double tray_bucket_reserve(tray_bucket *b); /* seconds to wait; the slot is taken */
void tray_bucket_info(tray_bucket *b, double *rate, double *burst);

/* ---- redis_url.c: the redis:// URL parser (pure, never allocates; a fuzz target) ---- */

#define TRAY_REDIS_DB_MAX 65535

typedef struct {
    char host[256];     /* name, IPv4, or IPv6 without its brackets; NUL-terminated */
    int port;           /* 6379 when absent */
    int db;             /* 0 when absent */
    char user[128];     /* ACL user name, percent-decoded; "" when absent */
    char password[256]; /* percent-decoded; meaningful when has_password */
    int has_password;
} tray_redis_url;

/* Parses redis://[[user][:password]@]host[:port][/db]. Returns 0, or -1 with
 * *err (when err is not NULL) set to a static message that never quotes the
 * URL (it may hold a password). */
int tray_redis_url_parse(const char *url, size_t len, tray_redis_url *out, const char **err);

/* Copies the first line of a Redis server's text s into out (at most outsz - 1
 * bytes and a NUL), with u's password (or a start of it 8 bytes or longer) and
 * user name (a whole word) replaced by "[redacted]" before the cut (redis.c;
 * pure, a fuzz target). */
void tray_redis_redact(const tray_redis_url *u, const char *s, size_t len, char *out, size_t outsz);

#endif /* TRAY_H */
