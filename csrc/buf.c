/*
 * buf.c: the growable byte buffer (see buf.h). Growing copies into a new
 * block and wipes the old one, so no stale copy of a token is left behind.
 */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 256

void tray_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n-- > 0)
        *v++ = 0;
}

void tray_buf_free(tray_buf *b)
{
    if (b->data) {
        tray_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

int tray_buf_reserve(tray_buf *b, size_t extra)
{
    size_t want = b->len + extra, cap = b->cap ? b->cap : FIRST_CAP;
    char *p;
    if (want < b->len)
        return -1;
    if (want <= b->cap)
        return 0;
    while (cap < want) {
        if (cap > ((size_t)-1) / 2)
            return -1;
        cap *= 2;
    }
    p = malloc(cap);
    if (!p)
        return -1;
    if (b->len)
        memcpy(p, b->data, b->len);
    if (b->data) {
        tray_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int tray_buf_add(tray_buf *b, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (tray_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}
