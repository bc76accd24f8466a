/* fuzz_entry.c: libFuzzer harness for the entry reader (lib/entry.c).
 * Feeds arbitrary bytes to pk_entry_read_meta, pk_entry_open,
 * pk_entry_verify (deep) and pk_entry_replay, as a corrupt cache would.
 *
 * The checksum is a whole-file hash, so random bytes would almost never
 * get past it and the decompression and record parsing behind it would go
 * unfuzzed.  When the input is long enough to hold a header, the harness
 * therefore checks the input once as it is, then once more with the
 * checksum recomputed (bytes 56..63), so that every later stage sees
 * fuzzed bytes too.  Output files are not restored: their paths come from
 * the entry, and the harness must not write anywhere. */
#include "entry.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int null_fd = -1;
static int mem_fd = -1;

/* Replaces the memfd's content with buf. */
static int load(const uint8_t *buf, size_t len)
{
	if (ftruncate(mem_fd, 0) < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t n = pwrite(mem_fd, buf + off, len - off, (off_t)off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static void check(const uint8_t *buf, size_t len)
{
	pk_error err = { 0 };
	pk_meta meta;
	uint64_t stored;
	pk_entry *e;

	if (load(buf, len) < 0)
		abort();
	pk_entry_read_meta(mem_fd, &meta, &stored, &err);
	pk_meta_free(&meta);
	if ((e = pk_entry_open(mem_fd, &err)) == NULL)
		return;
	(void)pk_entry_meta(e);
	(void)pk_entry_stored_bytes(e);
	if (pk_entry_verify(e, 1, &err) == 0)
		pk_entry_replay(e, null_fd, null_fd, &err);
	pk_entry_close(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (null_fd < 0 && (null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	if (mem_fd < 0 && (mem_fd = memfd_create("fuzz_entry", MFD_CLOEXEC)) < 0)
		abort();
	check(data, size);
	if (size < PK_ENTRY_HEADER)
		return 0;

	uint8_t *copy = malloc(size);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	uint64_t sum = XXH3_64bits_withSeed(copy, 56,
	                                    XXH3_64bits(copy + PK_ENTRY_HEADER,
	                                                size - PK_ENTRY_HEADER));
	for (int i = 0; i < 8; i++)
		copy[56 + i] = (uint8_t)(sum >> (8 * i));
	check(copy, size);
	free(copy);
	return 0;
}
