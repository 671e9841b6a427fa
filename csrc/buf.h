/*
 * buf.h: the one growable byte buffer of the C core (http.c's transfers,
 * http1.c's request bytes and response parser). Its memory is wiped before it
 * is freed or moved: a buffer may hold a token.
 */
#ifndef TRAY_BUF_H
#define TRAY_BUF_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
} tray_buf;

/* memset that the compiler cannot drop as a dead store (the memory is freed
 * or goes out of scope right after): for copies of the token. */
void tray_wipe(void *p, size_t n);

/* Room for `extra` more bytes after len (the capacity doubles, from 256);
 * 0, or -1 when out of memory or the size would overflow (b unchanged). */
int tray_buf_reserve(tray_buf *b, size_t extra);

/* Appends n bytes; 0 or -1 (out of memory, b unchanged). */
int tray_buf_add(tray_buf *b, const char *p, size_t n);

/* Wipes and frees the memory; b is empty after (and may be reused). */
void tray_buf_free(tray_buf *b);

#endif
