/* tray_h1_feed / tray_h1_eof: a server's answer, fed whole and fed in pieces. */
#include "fuzz.h"
#include "http1.h"

#include <string.h>

#define MAX_BODY 4096

static tray_h1_state run(tray_h1_parser *p, const uint8_t *data, size_t size, size_t step, int eof)
{
    size_t i;
    tray_h1_state st = TRAY_H1_HEAD;
    tray_h1_parser_init(p, MAX_BODY, 0);
    for (i = 0; i < size; i += step) {
        size_t n = size - i < step ? size - i : step;
        st = tray_h1_feed(p, (const char *)data + i, n);
        FUZZ_CHECK(p->body.len <= MAX_BODY);
        FUZZ_CHECK(p->line.len <= TRAY_H1_HEAD_MAX);
        if (st == TRAY_H1_ERROR)
            break;
    }
    if (eof && st != TRAY_H1_ERROR)
        st = tray_h1_eof(p);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tray_h1_parser whole, pieces;
    tray_h1_state a, b;
    size_t step;
    int eof;

    if (size < 1)
        return 0;
    /* the first byte: the piece size and whether the peer closes at the end */
    step = (size_t)(data[0] & 0x7f) + 1;
    eof = data[0] >> 7;
    data++;
    size--;
    a = run(&whole, data, size, size ? size : 1, eof);
    b = run(&pieces, data, size, step, eof);
    /* how the bytes arrive changes nothing */
    FUZZ_CHECK(a == b);
    if (a == TRAY_H1_DONE) {
        FUZZ_CHECK(whole.status >= 200 && whole.status <= 599);
        FUZZ_CHECK(whole.status == pieces.status);
        FUZZ_CHECK(whole.body.len == pieces.body.len);
        FUZZ_CHECK(whole.body.len == 0 || memcmp(whole.body.data, pieces.body.data, whole.body.len) == 0);
        FUZZ_CHECK(whole.head.len == pieces.head.len);
        FUZZ_CHECK(whole.keepalive == pieces.keepalive);
    } else if (a == TRAY_H1_ERROR) {
        FUZZ_CHECK(whole.kind != NULL && whole.message != NULL);
        FUZZ_CHECK(strcmp(whole.kind, pieces.kind) == 0);
    }
    tray_h1_parser_free(&whole);
    tray_h1_parser_free(&pieces);
    return 0;
}
