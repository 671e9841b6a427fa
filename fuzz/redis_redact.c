/* tray_redis_redact: a Redis server's error text, with the URL's password and
 * user name taken out before the text is cut (issue 14: a Redis that quotes a
 * failed AUTH's arguments). The first bytes choose the password and user; the
 * rest is the server's text. Contract: the output is NUL-terminated within
 * its buffer and holds neither the password nor 8 bytes of its start. (The
 * password is made of letters and digits here, and is not part of the
 * "[redacted]" marker itself: otherwise a marker next to copied text could
 * spell it by chance, which is no leak.) */
#include "fuzz.h"
#include "tray.h"

#include <string.h>

static int alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tray_redis_url u;
    char out[96];
    size_t plen, ulen, i, n;
    const char *text;

    if (size < 2)
        return 0;
    memset(&u, 0, sizeof u);
    plen = data[0] % 40;
    ulen = data[1] % 12;
    data += 2;
    size -= 2;
    if (plen + ulen > size)
        return 0;
    for (i = 0; i < plen + ulen; i++)
        if (!alnum((char)data[i]))
            return 0;
    memcpy(u.password, data, plen);
    u.has_password = plen > 0;
    memcpy(u.user, data + plen, ulen);
    text = (const char *)data + plen + ulen;
    n = size - plen - ulen;

    memset(out, 0x5a, sizeof out);
    tray_redis_redact(&u, text, n, out, sizeof out);
    FUZZ_CHECK(memchr(out, '\0', sizeof out) != NULL);
    if (plen && strstr("[redacted]", u.password) == NULL)
        FUZZ_CHECK(strstr(out, u.password) == NULL);
    if (plen >= 8) {
        char start[9];
        memcpy(start, u.password, 8);
        start[8] = '\0';
        if (strstr("[redacted]", start) == NULL)
            FUZZ_CHECK(strstr(out, start) == NULL);
    }
    return 0;
}
