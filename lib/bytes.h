/* bytes.h: little-endian integers in byte buffers, as the entry file and
 * its metadata store them (whatever the machine's own order); hex digits. */
#ifndef PK_BYTES_H
#define PK_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void pk_put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t pk_get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* One load where n is known (a manifest's records are read this way,
	 * thousands on every traced hit); the loop below is the same. */
	memcpy(&v, p, (size_t)n);
#else
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
#endif
	return v;
}

/* A bounded reader over the len bytes at p, at and bad zeroed: a read past
 * the end sets bad and yields 0 or NULL, and so does every read after it,
 * so that a decoder checks bad once. */
typedef struct pk_reader {
	const unsigned char *p;
	size_t len, at;
	int bad;
} pk_reader;

/* The next n (1 to 8) bytes as a little-endian integer. */
static inline uint64_t pk_read_le(pk_reader *r, int n)
{
	if (r->bad || r->len - r->at < (size_t)n) {
		r->bad = 1;
		return 0;
	}
	uint64_t v = pk_get_le(r->p + r->at, n);
	r->at += (size_t)n;
	return v;
}

/* The next n bytes, where they are. */
static inline const unsigned char *pk_read_take(pk_reader *r, size_t n)
{
	if (r->bad || r->len - r->at < n) {
		r->bad = 1;
		return NULL;
	}
	r->at += n;
	return r->p + r->at - n;
}

/* The value of a hex digit (either case), or -1. */
static inline int pk_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
