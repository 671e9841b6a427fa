/* tray_digest: keys the rate-limit buckets from a token (the token itself is
 * never kept). 16 lowercase hex digits, deterministic. */
#include "fuzz.h"
#include "tray.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(17), *b = malloc(17);
    size_t i;
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    tray_digest((const char *)data, size, a);
    tray_digest((const char *)data, size, b);
    FUZZ_CHECK(a[16] == '\0');
    FUZZ_CHECK(memcmp(a, b, 17) == 0);
    for (i = 0; i < 16; i++)
        FUZZ_CHECK((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
    free(a);
    free(b);
    return 0;
}
