/* buf.c: the encoders' growing buffer. */
#include "buf.h"

#include "bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pk_buf_reserve(pk_buf *b, size_t need)
{
	size_t cap;
	unsigned char *p;

	if (b->failed)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 512;
	while (cap < b->len + need + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void pk_buf_add(pk_buf *b, const void *s, size_t n)
{
	if (pk_buf_reserve(b, n) < 0)
		return;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void pk_buf_put_le(pk_buf *b, uint64_t v, int n)
{
	if (pk_buf_reserve(b, (size_t)n) < 0)
		return;
	pk_put_le(b->p + b->len, v, n);
	b->len += (size_t)n;
}

void pk_buf_printf(pk_buf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		pk_buf_add(b, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		b->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	pk_buf_add(b, big, (size_t)n);
	free(big);
}
