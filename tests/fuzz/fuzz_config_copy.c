/* fuzz_config_copy.c: libFuzzer harness for the decoder of the parsed
 * configuration copy (lib/config_snapshot.c).  The input is the copy's
 * body, after a fixed valid header and fingerprint, with its checksum made
 * to agree: that is what a copy damaged past its checksum looks like.
 * Whatever decodes must be a configuration the rest of pickled can use
 * (dumped here), and must encode to bytes that decode to the same again. */
#include "config.h"
#include "config_snapshot.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pk_config_source src = {
	.path = "/fuzz/pickled.conf", .optional = 0, .present = 1,
};

static void reseal(unsigned char *buf, size_t len)
{
	uint64_t h = XXH3_64bits(buf + 16, len - 16);

	for (int i = 0; i < 8; i++)
		buf[8 + i] = (unsigned char)(h >> (8 * i));
}

/* The bytes of a copy up to its body, for src. */
static size_t prefix(unsigned char **out)
{
	pk_config c;
	unsigned char *b = NULL;
	size_t len = 0, n;

	pk_config_init(&c);
	if (pk_config_snapshot_encode(&c, &src, 1, &b, &len) < 0)
		abort();
	pk_config_free(&c);
	n = 20 + ((size_t)b[16] | (size_t)b[17] << 8 | (size_t)b[18] << 16 | (size_t)b[19] << 24);
	*out = b;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *head;
	static size_t hlen;
	unsigned char *buf, *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;
	pk_config c, d;
	char *yaml = NULL;

	if (head == NULL)
		hlen = prefix(&head);
	if ((buf = malloc(hlen + size)) == NULL)
		return 0;
	memcpy(buf, head, hlen);
	if (size > 0)
		memcpy(buf + hlen, data, size);
	reseal(buf, hlen + size);
	pk_config_init(&c);
	if (pk_config_snapshot_decode(&c, buf, hlen + size, &src, 1) == 0) {
		if (pk_config_dump(&c, &yaml) < 0)
			abort();
		if (pk_config_snapshot_encode(&c, &src, 1, &b1, &l1) < 0)
			abort();   /* what decodes must encode */
		pk_config_init(&d);
		if (pk_config_snapshot_decode(&d, b1, l1, &src, 1) < 0)
			abort();   /* our own encoding refused */
		if (pk_config_snapshot_encode(&d, &src, 1, &b2, &l2) < 0)
			abort();
		if (l1 != l2 || memcmp(b1, b2, l1) != 0)
			abort();   /* a value changed on the way through */
		pk_config_free(&d);
	}
	pk_config_free(&c);
	free(yaml);
	free(b1);
	free(b2);
	free(buf);
	return 0;
}
