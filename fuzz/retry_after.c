/* tray_retry_after: a Retry-After header value from the server. The first 8
 * bytes (when there are more than 8) choose "now". */
#include "fuzz.h"
#include "tray.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    double secs;

    if (size > 8) {
        uint64_t u;
        memcpy(&u, data, sizeof u);
        now = (int64_t)(u % 8000000000ULL); /* 1970 .. 2223 */
        data += 8;
        size -= 8;
    }
    secs = tray_retry_after((const char *)data, size, now);
    /* -1 (not a valid value) or whole seconds from 0 to one day */
    FUZZ_CHECK(secs == -1 || (secs >= 0 && secs <= 86400));
    FUZZ_CHECK(secs == floor(secs));
    return 0;
}
