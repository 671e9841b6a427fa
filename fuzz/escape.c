/* tray_escape: an id (any bytes) that becomes one URL path segment. */
#include "fuzz.h"
#include "tray.h"

#include <string.h>

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int hex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1; /* lowercase hex is never written */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exactly the documented 3 * len bytes: ASan catches a write past them */
    char *out = malloc(size * 3 + 1);
    size_t n, i, j = 0;

    if (!out)
        return 0;
    n = tray_escape((const char *)data, size, out);
    FUZZ_CHECK(n <= size * 3);
    /* only unreserved bytes and %XX; decoding gives the input back */
    for (i = 0; i < n; j++) {
        unsigned char c = (unsigned char)out[i];
        FUZZ_CHECK(j < size);
        if (c == '%') {
            FUZZ_CHECK(i + 2 < n);
            FUZZ_CHECK(hex(out[i + 1]) >= 0 && hex(out[i + 2]) >= 0);
            FUZZ_CHECK(hex(out[i + 1]) * 16 + hex(out[i + 2]) == data[j]);
            i += 3;
        } else {
            FUZZ_CHECK(unreserved(c));
            FUZZ_CHECK(c == data[j]);
            i++;
        }
    }
    FUZZ_CHECK(j == size);
    /* never a dot-segment, which a client or server would resolve away */
    FUZZ_CHECK(!(n == 1 && out[0] == '.'));
    FUZZ_CHECK(!(n == 2 && out[0] == '.' && out[1] == '.'));
    /* nothing that ends a segment or starts a query or fragment */
    FUZZ_CHECK(memchr(out, '/', n) == NULL && memchr(out, '?', n) == NULL && memchr(out, '#', n) == NULL);
    free(out);
    return 0;
}
