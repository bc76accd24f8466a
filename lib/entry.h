/* entry.h: the entry file format: writing one while a command runs, and
 * reading one back (verify, restore output files, replay stdout/stderr).
 *
 * Layout, little-endian, regions back to back after a 64-byte header:
 *   0  "PKLDENT\0"  8 u32 version (1)  12 u32 header size (64)
 *   16 u64 stdio length   zstd frame of records, starting at 64
 *   24 u64 files length   zstd frame of output file contents, or empty
 *   32 u64 meta length    pk_meta encoding, last in the file
 *   40 u64 reserved (0)   48 u64 reserved (0)   56 u64 checksum
 * A stdio record is: u8 stream (1 stdout, 2 stderr), u32 length, bytes.
 * The checksum is XXH3-64 over header bytes 0..55 seeded with the XXH3-64
 * of every byte after the header; it is verified before anything is
 * replayed, and before output files appear, so a reader never acts on a
 * torn or corrupt entry.  Each output file's XXH3-128 is in the metadata
 * (a hit leaves a file that still holds it alone). */
#ifndef PK_ENTRY_H
#define PK_ENTRY_H

#include "error.h"
#include "meta.h"

#include <stddef.h>
#include <stdint.h>

#define PK_ENTRY_VERSION 1
#define PK_ENTRY_HEADER 64

/* Where the header's fields are (the layout above), for the writer and
 * every reader alike. */
enum {
	PK_ENTRY_AT_MAGIC = 0,        /* 8 bytes */
	PK_ENTRY_AT_VERSION = 8,      /* u32 */
	PK_ENTRY_AT_HEADER_SIZE = 12, /* u32 */
	PK_ENTRY_AT_STDIO_LEN = 16,   /* u64, then files and meta lengths */
	PK_ENTRY_AT_FILES_LEN = 24,   /* u64 */
	PK_ENTRY_AT_META_LEN = 32,    /* u64 */
	PK_ENTRY_AT_CHECKSUM = 56     /* u64, over the bytes before it */
};

/* A stdio record's head: the stream (u8) then the length (u32). */
enum { PK_RECORD_AT_LEN = 1, PK_RECORD_HEAD = 5 };

enum { PK_STDOUT = 1, PK_STDERR = 2 };

typedef struct pk_entry_writer pk_entry_writer;

/* Starts an entry in fd (an empty file open for writing).  level is the
 * zstd level, threads the number of zstd workers (0: compress inline).
 * Returns NULL with err set on failure. */
pk_entry_writer *pk_entry_writer_new(int fd, int level, int threads, pk_error *err);

/* Bounds the entry file at limit bytes, header included (0: no bound).  A
 * write that would pass it fails with EFBIG and makes the writer unusable,
 * as a full disk does; pk_entry_writer_over_limit then says so. */
void pk_entry_writer_limit(pk_entry_writer *w, uint64_t limit);

/* 1 when the writer failed because the entry passed its limit; *size is
 * then set to the bytes it would have had by then (more than the limit). */
int pk_entry_writer_over_limit(const pk_entry_writer *w, uint64_t *size);

/* Appends a chunk of the command's output.  Returns 0, or -1 with err set
 * (then the entry is unusable; later calls fail at once). */
int pk_entry_writer_stdio(pk_entry_writer *w, int stream, const void *buf, size_t len,
                          pk_error *err);

/* Appends the content of the open file fd (all of it, from offset 0) as the
 * next output file; *size is set to the bytes stored, sum to their
 * XXH3-128 (what a hit compares a file on disk with).  After the first
 * file, no more stdio chunks may be added.  Returns 0, or -1 with err
 * set. */
int pk_entry_writer_file(pk_entry_writer *w, int fd, uint64_t *size, unsigned char sum[16],
                         pk_error *err);

/* Completes the entry: meta (stdout/stderr byte counts are filled in by the
 * writer) and header.  Does not fsync.  Returns 0, or -1 with err set. */
int pk_entry_writer_finish(pk_entry_writer *w, pk_meta *meta, pk_error *err);

/* 1 once a call failed and made the writer unusable. */
int pk_entry_writer_failed(const pk_entry_writer *w);

/* Frees the writer (not the fd); NULL is fine. */
void pk_entry_writer_free(pk_entry_writer *w);

typedef struct pk_entry pk_entry;

/* Opens the entry in fd (the caller keeps owning fd and must keep it open
 * while the entry is used): checks the header and decodes the metadata.
 * The checksum is not checked yet (see pk_entry_verify).  Returns NULL
 * with err set when the file is not a sound entry. */
pk_entry *pk_entry_open(int fd, pk_error *err);

/* Reads only the header and metadata of the entry in fd into *meta (free
 * it with pk_meta_free, even on failure) and its size into *stored: what
 * listing needs, without reading the output.  Returns 0, or -1 with err. */
int pk_entry_read_meta(int fd, pk_meta *meta, uint64_t *stored, pk_error *err);

/* The one way to read an entry found under key's name: pk_entry_open,
 * pk_entry_verify (deep as there), and a check that the entry is key's
 * (a file renamed or copied under another key's name is not).  Returns
 * NULL with err set; errnum 0 and "entry holds another key" for the last. */
pk_entry *pk_entry_open_key(int fd, const pk_key *key, int deep, pk_error *err);

/* Its last check alone: 0 when the entry is key's, else -1 with err set as
 * there.  For a hit that checks the checksum while restoring the files
 * (pk_entry_check_on_restore): pk_entry_open, then this, and the checksum
 * before anything is replayed or decided against the entry. */
int pk_entry_check_key(const pk_entry *e, const pk_key *key, pk_error *err);

/* The same for the metadata alone (pk_entry_read_meta): the checksum is
 * not checked.  On failure *meta is freed and zeroed.  Returns 0, or -1
 * with err set. */
int pk_entry_read_meta_key(int fd, const pk_key *key, pk_meta *meta, uint64_t *stored,
                           pk_error *err);

const pk_meta *pk_entry_meta(const pk_entry *e);
uint64_t pk_entry_stored_bytes(const pk_entry *e);

/* Checks the checksum over the whole file.  With deep, also decodes every
 * compressed byte and record.  Returns 0, or -1 with err set. */
int pk_entry_verify(pk_entry *e, int deep, pk_error *err);

/* 1 when the checksum is best checked by pk_entry_restore_files, in the
 * pass that restores the files, rather than by pk_entry_verify first: a
 * large entry (read in pieces) with output files, not verified yet.  Its
 * files are then read once, not twice. */
int pk_entry_check_on_restore(const pk_entry *e);

/* Writes the declared output files (relative to the current directory,
 * as pk_outpath_begin does each: missing folders made, through temporaries
 * nobody sees before the end).  A file that already holds its content
 * (size and hash, looked up in the stat cache statdir, NULL: none) is left
 * alone.  When the entry was not verified yet, its checksum is checked in
 * the same pass, and the files appear only when it holds (a file rewritten
 * in place, where its folder forbids a temporary, is written only after a
 * verify pass).  Returns 0; -1 with err set when a file cannot be
 * written; -2 with err set when the entry is damaged.  Nothing is left
 * behind on failure but folders made. */
int pk_entry_restore_files(pk_entry *e, const char *statdir, pk_error *err);

/* Writes the recorded stdout chunks to out_fd and stderr chunks to err_fd,
 * in recorded order; a negative fd skips that stream.  A stream whose
 * write fails is given up, and the other still gets all its bytes.
 * Returns 0, or -1 with err set (err->errnum: the first failed write's,
 * EPIPE when a reader went away). */
int pk_entry_replay(pk_entry *e, int out_fd, int err_fd, pk_error *err);

/* Frees the entry; NULL is fine. */
void pk_entry_close(pk_entry *e);

/* Rewrites a verified entry's creation time (metadata and checksum, in
 * place: for a file not yet in the cache), so that a copy fetched from
 * another host ages by this host's clock.  Afterwards e is only good for
 * pk_entry_close.  Returns 0, or -1 with err set. */
int pk_entry_redate(pk_entry *e, int64_t created_ms, pk_error *err);

#endif
