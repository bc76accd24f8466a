/* fuzz_manifest.c: libFuzzer harness for the manifest decoder
 * (lib/manifest_file.c), which reads what the fleet shares through Redis.
 * Decodes arbitrary bytes (the records unpacked into one region, their
 * paths used in place); whatever decodes must encode, and that encoding
 * must decode to something that encodes to the same bytes again. */
#include "manifest.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pk_error err = { 0 };
	pk_manifest m1, m2;
	unsigned char *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (pk_manifest_decode(data, size, &m1, &err) < 0) {
		pk_manifest_free(&m1);
		return 0;
	}
	if (pk_manifest_encode(&m1, &b1, &l1) < 0)
		abort();
	if (pk_manifest_decode(b1, l1, &m2, &err) < 0)
		abort(); /* our own encoding refused */
	if (pk_manifest_encode(&m2, &b2, &l2) < 0)
		abort();
	if (l1 != l2 || memcmp(b1, b2, l1) != 0)
		abort(); /* a record changed on the way through */
	pk_manifest_free(&m1);
	pk_manifest_free(&m2);
	free(b1);
	free(b2);
	return 0;
}
