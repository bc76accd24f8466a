/* bytes.h: little-endian integers in byte buffers, as the entry file and
 * its metadata store them (whatever the machine's own order); hex digits. */
#ifndef PK_BYTES_H
#define PK_BYTES_H

#include <stdint.h>

static inline void pk_put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t pk_get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
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
