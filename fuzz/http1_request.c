/* tray_h1_request: the request head built from a URL, a header line, a token and
 * a User-Agent that the fuzzer chooses. Whatever they hold, an accepted request
 * has exactly the lines it should (no CR, LF or NUL smuggled into one), and a
 * refused one leaves nothing behind. */
#include "fuzz.h"
#include "http1.h"

#include <string.h>

/* Splits data at the first three NUL bytes into four NUL-terminated strings
 * (the URL may not hold NUL anyway; the token's length is passed explicitly). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *part[4];
    size_t len[4], i, start = 0, k = 0, nlines;
    const char *err, *hl[1];
    tray_buf out = { NULL, 0, 0 };
    tray_h1_target t;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (i = 0; i <= size && k < 4; i++) {
        if (i == size || (copy[i] == '\0' && k < 3)) {
            part[k] = copy + start;
            len[k] = i - start;
            k++;
            start = i + 1;
        }
    }
    for (; k < 4; k++) {
        part[k] = copy + size;
        len[k] = 0;
    }
    hl[0] = part[1];
    nlines = len[1] > 0 ? 1 : 0;
    err = tray_h1_request(&out, &t, "POST", part[0], len[0], hl, nlines, 5, 1,
                          len[2] > 0 ? part[2] : NULL, len[2], len[3] > 0 ? part[3] : NULL);
    if (err) {
        FUZZ_CHECK(out.len == 0);
    } else {
        /* request line, Host, [User-Agent], [the line], [Authorization], Content-Length,
         * Connection, and the empty line */
        size_t lines = 5 + (len[3] > 0) + nlines + (len[2] > 0), crlf = 0;
        FUZZ_CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
        for (i = 0; i < out.len; i++) {
            FUZZ_CHECK(out.data[i] != '\0');
            if (out.data[i] == '\r') {
                FUZZ_CHECK(i + 1 < out.len && out.data[i + 1] == '\n');
                crlf++;
            } else if (out.data[i] == '\n') {
                FUZZ_CHECK(i > 0 && out.data[i - 1] == '\r');
            }
        }
        FUZZ_CHECK(crlf == lines);
        FUZZ_CHECK(t.port >= 1 && t.port <= 65535);
        FUZZ_CHECK(memcmp(out.data, "POST /", 6) == 0);
    }
    tray_buf_free(&out);
    free(copy);
    return 0;
}
