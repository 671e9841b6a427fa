/* tray_redis_url_parse: a redis:// URL from the caller's configuration (it may
 * hold a password, so error messages must never quote it). */
#include "fuzz.h"
#include "tray.h"

#include <string.h>

static int has_nul_terminator(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tray_redis_url u;
    const char *err = NULL;
    size_t i;

    memset(&u, 0x5a, sizeof u);
    if (tray_redis_url_parse((const char *)data, size, &u, &err) != 0) {
        FUZZ_CHECK(err != NULL);
        /* a static message: never a copy of (part of) the input */
        FUZZ_CHECK(!((const uint8_t *)err >= data && (const uint8_t *)err < data + size));
        return 0;
    }
    FUZZ_CHECK(has_nul_terminator(u.host, sizeof u.host));
    FUZZ_CHECK(has_nul_terminator(u.user, sizeof u.user));
    FUZZ_CHECK(has_nul_terminator(u.password, sizeof u.password));
    FUZZ_CHECK(u.host[0] != '\0');
    FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
    FUZZ_CHECK(u.db >= 0 && u.db <= TRAY_REDIS_DB_MAX);
    for (i = 0; u.password[i]; i++)
        FUZZ_CHECK((unsigned char)u.password[i] >= 0x20 && (unsigned char)u.password[i] != 0x7f);
    return 0;
}
