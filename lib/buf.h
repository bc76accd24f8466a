/* buf.h: a growing byte buffer for the encoders (entry metadata, the
 * parsed configuration copy, the YAML dump).  Appends do not report
 * failure one by one: a failed allocation is remembered in failed, and
 * the encoder checks it once at the end. */
#ifndef PK_BUF_H
#define PK_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Zero-initialize; p is malloc'd, the owner frees it. */
typedef struct pk_buf {
	unsigned char *p;
	size_t len, cap;
	int failed;
} pk_buf;

/* Makes room for need more bytes, and one more after them, so that a text
 * can be kept NUL-terminated.  Returns 0, or -1 with b->failed set (also
 * when it already was). */
int pk_buf_reserve(pk_buf *b, size_t need);

/* Appends the n bytes at s, followed by a NUL that len does not count. */
void pk_buf_add(pk_buf *b, const void *s, size_t n);

/* Appends v as n (1 to 8) little-endian bytes. */
void pk_buf_put_le(pk_buf *b, uint64_t v, int n);

/* Appends printf's output for fmt. */
void pk_buf_printf(pk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
