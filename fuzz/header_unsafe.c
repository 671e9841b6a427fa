/* tray_header_unsafe: the check every token and header value passes before it
 * can reach a request. Compared with a plain reference implementation. */
#include "fuzz.h"
#include "tray.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int expect = 0;
    size_t i;
    for (i = 0; i < size; i++) {
        uint8_t c = data[i];
        if (c == '\r' || c == '\n' || c == '\0' || c == 0x7f || (c < 0x20 && c != '\t'))
            expect = 1;
    }
    FUZZ_CHECK(tray_header_unsafe((const char *)data, size) == expect);
    return 0;
}
