/* buf.c: the encoders' growing buffer. */
#include "buf.h"

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
