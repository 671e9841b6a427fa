/*
 * parse.c: the small parsers of the native module. They read untrusted bytes
 * (response headers, Retry-After values, ids that become path segments), never
 * allocate, never read past len, and each has a libFuzzer harness in fuzz/.
 */
#include "tray.h"

#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

int tray_header_unsafe(const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 1;
    }
    return 0;
}

/* RFC 7230 token characters, the only ones allowed in a header name. */
static int is_tchar(unsigned char c)
{
    if (c >= 'a' && c <= 'z') return 1;
    if (c >= 'A' && c <= 'Z') return 1;
    if (c >= '0' && c <= '9') return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int tray_header_split(const char *line, size_t len,
                      const char **name, size_t *name_len,
                      const char **value, size_t *value_len)
{
    size_t i = 0, start, end;

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= len || line[i] != ':')
        return 0; /* empty name, status line ("HTTP/1.1 200 OK"), or garbage */
    *name = line;
    *name_len = i;
    start = i + 1;
    while (start < len && is_blank(line[start]))
        start++;
    end = len;
    while (end > start && is_blank(line[end - 1]))
        end--;
    /* a NUL, CR or LF inside the value would break the "name\0value\0" list
     * http.c builds (and has no business in a header): drop the line */
    for (i = start; i < end; i++) {
        if (line[i] == '\0' || line[i] == '\r' || line[i] == '\n')
            return 0;
    }
    *value = line + start;
    *value_len = end - start;
    return 1;
}

/* ---- Retry-After ---- */

#define RETRY_AFTER_MAX 86400.0

static const char *const MONTHS[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

typedef struct {
    const char *p, *end;
} cursor;

static int cur_number(cursor *c, int min_digits, int max_digits, int *out)
{
    int n = 0, v = 0;
    while (c->p < c->end && is_digit(*c->p) && n < max_digits) {
        v = v * 10 + (*c->p - '0');
        c->p++;
        n++;
    }
    if (n < min_digits)
        return 0;
    *out = v;
    return 1;
}

static int cur_char(cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int cur_blanks(cursor *c)
{
    int n = 0;
    while (c->p < c->end && *c->p == ' ') {
        c->p++;
        n++;
    }
    return n;
}

static int cur_month(cursor *c, int *month)
{
    int i;
    if (c->end - c->p < 3)
        return 0;
    for (i = 0; i < 12; i++) {
        if (memcmp(c->p, MONTHS[i], 3) == 0) {
            c->p += 3;
            *month = i + 1;
            return 1;
        }
    }
    return 0;
}

static int cur_time(cursor *c, int *h, int *mi, int *s)
{
    return cur_number(c, 2, 2, h) && cur_char(c, ':') &&
           cur_number(c, 2, 2, mi) && cur_char(c, ':') &&
           cur_number(c, 2, 2, s);
}

static int cur_word(cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Parses the three date forms of RFC 7231 section 7.1.1.1 into epoch seconds. */
static int parse_http_date(const char *s, size_t len, int64_t *epoch)
{
    cursor c;
    int day = 0, month = 0, year = 0, h = 0, mi = 0, sec = 0;
    const char *comma = memchr(s, ',', len);

    c.p = s;
    c.end = s + len;
    /* skip the day name: letters only */
    while (c.p < c.end && ((*c.p >= 'A' && *c.p <= 'Z') || (*c.p >= 'a' && *c.p <= 'z')))
        c.p++;
    if (c.p == s)
        return 0;
    if (comma && c.p == comma) {
        c.p++;
        if (!cur_blanks(&c) || !cur_number(&c, 2, 2, &day))
            return 0;
        if (cur_char(&c, ' ')) {
            /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            if (!cur_month(&c, &month) || !cur_char(&c, ' ') ||
                !cur_number(&c, 4, 4, &year) || !cur_char(&c, ' '))
                return 0;
        } else if (cur_char(&c, '-')) {
            /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
            if (!cur_month(&c, &month) || !cur_char(&c, '-') ||
                !cur_number(&c, 2, 2, &year) || !cur_char(&c, ' '))
                return 0;
            year += year < 70 ? 2000 : 1900;
        } else {
            return 0;
        }
        if (!cur_time(&c, &h, &mi, &sec) || !cur_char(&c, ' ') || !cur_word(&c, "GMT"))
            return 0;
    } else {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (!cur_char(&c, ' ') || !cur_month(&c, &month) || !cur_blanks(&c) ||
            !cur_number(&c, 1, 2, &day) || !cur_char(&c, ' ') ||
            !cur_time(&c, &h, &mi, &sec) || !cur_char(&c, ' ') ||
            !cur_number(&c, 4, 4, &year))
            return 0;
    }
    if (c.p != c.end)
        return 0;
    if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60)
        return 0;
    *epoch = days_from_civil(year, month, day) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    return 1;
}

double tray_retry_after(const char *value, size_t len, int64_t now_epoch)
{
    int64_t epoch;

    while (len > 0 && is_blank(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && is_blank(value[len - 1]))
        len--;
    if (len == 0)
        return -1;
    if (is_digit(value[0])) {
        double secs = 0;
        size_t i;
        for (i = 0; i < len; i++) {
            if (!is_digit(value[i]))
                return -1;
            if (secs < RETRY_AFTER_MAX)
                secs = secs * 10 + (value[i] - '0');
        }
        return secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : secs;
    }
    if (!parse_http_date(value, len, &epoch))
        return -1;
    if (epoch <= now_epoch)
        return 0;
    if (epoch - now_epoch > (int64_t)RETRY_AFTER_MAX)
        return RETRY_AFTER_MAX;
    return (double)(epoch - now_epoch);
}

/* ---- percent-encoding and digest ---- */

static int is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

size_t tray_escape(const char *in, size_t len, char *out)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t i, o = 0;
    /* "." and ".." would be dot-segments, which libcurl and servers resolve
     * away (".../authentications/.." is ".../"): encode their dots too */
    int dots = (len == 1 && in[0] == '.') || (len == 2 && in[0] == '.' && in[1] == '.');
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_unreserved(c) && !dots) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = HEX[c >> 4];
            out[o++] = HEX[c & 15];
        }
    }
    return o;
}

void tray_digest(const char *in, size_t len, char out[17])
{
    static const char HEX[] = "0123456789abcdef";
    uint64_t h = 14695981039346656037ULL;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= (unsigned char)in[i];
        h *= 1099511628211ULL;
    }
    for (i = 0; i < 16; i++)
        out[i] = HEX[(h >> (60 - 4 * i)) & 15];
    out[16] = '\0';
}
