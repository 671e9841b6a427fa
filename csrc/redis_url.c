/*
 * redis_url.c: the redis:// URL parser, a pure function over untrusted bytes
 * (it never allocates, never reads past len, and is a fuzz target).
 *
 *   redis://[[user][:password]@]host[:port][/db]
 *
 * host is a name or IPv4 address (letters, digits, '.', '-', '_') or an IPv6
 * address in brackets; port defaults to 6379, db to 0. The user name and the
 * password may be percent-encoded. Anything else (a query, a fragment, TLS
 * "rediss://", a unix socket) is refused.
 */
#include "tray.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into out (size cap, NUL-terminated). Returns 0, or
 * -1 on a bad escape, a decoded NUL or control byte, or an overflow. */
static int decode_part(const char *s, size_t len, char *out, size_t cap)
{
    size_t i = 0, n = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 3;
        } else {
            i++;
        }
        if (c < 0x20 || c == 0x7f)
            return -1;
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* Reads a decimal number s[0..len) no larger than max. Returns -1 if invalid. */
static long read_number(const char *s, size_t len, long max)
{
    long v = 0;
    size_t i;
    if (len == 0 || len > 7)
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > max ? -1 : v;
}

static int is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '-' || c == '_';
}

static int is_ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
        || c == ':' || c == '.';
}

static char lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c;
}

static int fail(const char **err, const char *message)
{
    if (err)
        *err = message;
    return -1;
}

int tray_redis_url_parse(const char *url, size_t len, tray_redis_url *out, const char **err)
{
    static const char scheme[] = "redis://";
    const size_t slen = sizeof scheme - 1;
    size_t i, start, end, at, hend;
    long v;

    memset(out, 0, sizeof *out);
    out->port = 6379;
    for (i = 0; i < slen; i++) {
        char c = '\0';
        if (i < len)
            c = lower(url[i]);
        if (c != scheme[i]) {
            if (i == 5 && c == 's' && len > 8 && url[6] == ':' && url[7] == '/' && url[8] == '/')
                return fail(err, "rediss:// (TLS) is not supported");
            return fail(err, "the Redis URL must start with redis://");
        }
    }
    for (i = slen; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return fail(err, "the Redis URL holds a space, a control or a non-ASCII byte");
        if (c == '?' || c == '#')
            return fail(err, "the Redis URL may not have a query or a fragment");
    }

    /* authority: up to the first '/' */
    start = slen;
    end = start;
    while (end < len && url[end] != '/')
        end++;

    /* userinfo: up to the last '@' of the authority */
    at = end;
    for (i = start; i < end; i++)
        if (url[i] == '@')
            at = i;
    if (at < end) {
        size_t colon = at;
        for (i = start; i < at; i++) {
            if (url[i] == ':') {
                colon = i;
                break;
            }
        }
        if (decode_part(url + start, colon - start, out->user, sizeof out->user) != 0)
            return fail(err, "the Redis URL has a malformed or too long user name");
        if (colon < at) {
            if (decode_part(url + colon + 1, at - colon - 1, out->password, sizeof out->password) != 0)
                return fail(err, "the Redis URL has a malformed or too long password");
            out->has_password = 1;
        } else if (out->user[0] != '\0') {
            return fail(err, "the Redis URL has a user name but no password");
        }
        if (out->has_password && out->password[0] == '\0')
            out->has_password = 0; /* "redis://:@host": no password */
        if (!out->has_password && out->user[0] != '\0')
            return fail(err, "the Redis URL has a user name but no password");
        start = at + 1;
    }

    /* host */
    if (start < end && url[start] == '[') {
        hend = start + 1;
        while (hend < end && url[hend] != ']') {
            if (!is_ipv6_char(url[hend]))
                return fail(err, "the Redis URL has a malformed IPv6 address");
            hend++;
        }
        if (hend >= end || hend == start + 1)
            return fail(err, "the Redis URL has a malformed IPv6 address");
        if (hend - start - 1 >= sizeof out->host)
            return fail(err, "the Redis URL's host is too long");
        memcpy(out->host, url + start + 1, hend - start - 1);
        out->host[hend - start - 1] = '\0';
        i = hend + 1;
    } else {
        hend = start;
        while (hend < end && url[hend] != ':') {
            if (!is_host_char(url[hend]))
                return fail(err, "the Redis URL has a malformed host");
            hend++;
        }
        if (hend == start)
            return fail(err, "the Redis URL needs a host");
        if (hend - start >= sizeof out->host)
            return fail(err, "the Redis URL's host is too long");
        memcpy(out->host, url + start, hend - start);
        out->host[hend - start] = '\0';
        i = hend;
    }

    /* port */
    if (i < end) {
        if (url[i] != ':')
            return fail(err, "the Redis URL has a malformed host");
        v = read_number(url + i + 1, end - i - 1, 65535);
        if (v < 1)
            return fail(err, "the Redis URL's port must be 1..65535");
        out->port = (int)v;
    }

    /* db */
    if (end < len && end + 1 < len) {
        v = read_number(url + end + 1, len - end - 1, TRAY_REDIS_DB_MAX);
        if (v < 0)
            return fail(err, "the Redis URL's database must be a number 0..65535");
        out->db = (int)v;
    }
    return 0;
}

/* ---- redacting a server's text ---- */

/* The shortest start of the password that counts as the password: a server
 * may quote an argument cut short (Redis quotes at most 128 bytes of each). */
#define PASSWORD_PREFIX_MIN 8

static int word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* How many bytes at s[i..len) are the password (or a start of it at least
 * PASSWORD_PREFIX_MIN long) or the user name (a whole word); 0 when neither. */
static size_t secret_at(const tray_redis_url *u, const char *s, size_t len, size_t i)
{
    size_t plen = u->has_password ? strlen(u->password) : 0, ulen = strlen(u->user);
    if (plen) {
        size_t m = 0;
        while (i + m < len && m < plen && s[i + m] == u->password[m])
            m++;
        if (m == plen || m >= PASSWORD_PREFIX_MIN)
            return m;
    }
    if (ulen && ulen <= len - i && memcmp(s + i, u->user, ulen) == 0 && (i == 0 || !word_char(s[i - 1]))
        && (i + ulen == len || !word_char(s[i + ulen])))
        return ulen;
    return 0;
}

/* Copies the first line of a server's error text into out (outsz bytes, cut
 * there), with the URL's password and user name replaced by "[redacted]"
 * before the cut: a server may quote a failed command's arguments ("unknown
 * command 'AUTH', with args beginning with: 'user' 'password'"). */
void tray_redis_redact(const tray_redis_url *u, const char *s, size_t len, char *out, size_t outsz)
{
    static const char R[] = "[redacted]";
    size_t i = 0, o = 0;
    if (outsz == 0)
        return;
    while (i < len && s[i] != '\r' && s[i] != '\n' && o + 1 < outsz) {
        size_t m = secret_at(u, s, len, i);
        if (m) {
            size_t k;
            for (k = 0; k < sizeof R - 1 && o + 1 < outsz; k++)
                out[o++] = R[k];
            i += m;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
}
