/* entry_impl.h: what entry.c and entry_restore.c share about an open
 * entry.  Internal to those two files; entry.h is the contract. */
#ifndef PK_ENTRY_IMPL_H
#define PK_ENTRY_IMPL_H

#include "error.h"
#include "hash.h"
#include "meta.h"

#include <stddef.h>
#include <stdint.h>

/* entry.h's, repeated so that this header needs nothing above it. */
typedef struct pk_entry pk_entry;

/* Entries up to this size are read in one go; larger ones are streamed so
 * that memory stays bounded whatever the output size. */
#define SMALL_ENTRY (1024 * 1024)

struct pk_entry {
	int fd;
	uint64_t size, stdio_len, files_len, meta_len, checksum;
	unsigned char header[64]; /* PK_ENTRY_HEADER */
	unsigned char *whole;     /* the whole file, for small entries */
	unsigned char *inbuf, *outbuf;
	size_t outcap;
	pk_meta meta;
	int verified;
};

/* Calls fn on successive pieces of the file region [off, off+len). */
int entry_read_region(pk_entry *e, uint64_t off, uint64_t len,
                      int (*fn)(void *, const unsigned char *, size_t, pk_error *), void *ctx,
                      pk_error *err);

/* A piece function for entry_read_region that hashes into ctx, an
 * XXH3_state_t. */
int entry_hash_piece(void *ctx, const unsigned char *p, size_t n, pk_error *err);

/* Decompresses [off, off+len) into sink; with xs, hashes what it reads
 * into xs on the way. */
int entry_inflate_region(pk_entry *e, uint64_t off, uint64_t len,
                         int (*sink)(void *, const unsigned char *, size_t, pk_error *),
                         void *sink_ctx, XXH3_state_t *xs, pk_error *err);

#endif
