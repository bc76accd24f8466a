/* fuzz_meta.c: libFuzzer harness for the metadata decoder (lib/meta.c).
 * Decodes arbitrary bytes; whatever decodes must encode, and the encoding
 * of that must decode to something that encodes to the same bytes again
 * (decode and encode agree on every field they both know). */
#include "meta.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pk_error err = { 0 };
	pk_meta m1, m2;
	unsigned char *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (pk_meta_decode(data, size, &m1, &err) < 0) {
		pk_meta_free(&m1);
		return 0;
	}
	(void)pk_meta_raw_bytes(&m1);
	if (pk_meta_encode(&m1, &b1, &l1) < 0)
		abort();
	if (pk_meta_decode(b1, l1, &m2, &err) < 0)
		abort();   /* our own encoding refused */
	if (pk_meta_encode(&m2, &b2, &l2) < 0)
		abort();
	if (l1 != l2 || memcmp(b1, b2, l1) != 0)
		abort();   /* a field changed on the way through */
	pk_meta_free(&m1);
	pk_meta_free(&m2);
	free(b1);
	free(b2);
	return 0;
}
