/* key.h: what a cache key is made of, and its XXH3-128 digest.
 * The digest covers a versioned, length-prefixed encoding of every part, so
 * that no two different sets of parts can encode to the same bytes. */
#ifndef PK_KEY_H
#define PK_KEY_H

#include <stddef.h>
#include <stdint.h>

#define PK_KEY_HEX 32 /* hex digits in a full key */

typedef struct pk_key {
	unsigned char bytes[16]; /* XXH128 canonical (big-endian) form */
} pk_key;

enum pk_program_check {
	PK_PROGRAM_NONE,    /* only argv counts */
	PK_PROGRAM_MTIME,   /* resolved path, size and mtime (the default) */
	PK_PROGRAM_CONTENT, /* resolved path and XXH3-128 of its content */
};

typedef struct pk_input {
	char *path;             /* as expanded; relative stays relative */
	int present;            /* 0: did not exist when the key was made */
	unsigned char hash[16]; /* XXH3-128 of the content when present */
	/* Not in the key: the stat the hash was taken with, for
	 * pk_inputs_changed.  settled: mtime and ctime were older than the
	 * moment of the stat (with a margin for coarse timestamps), so an
	 * equal stat later proves equal content. */
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	int settled;
	/* Not in the key: a pattern with wildcards that matched no file
	 * (path is the pattern, present 0). */
	int nomatch;
} pk_input;

typedef struct pk_envvar {
	char *name;
	char *value; /* NULL: unset (differs from "") */
	/* Not in the key: what an entry records in place of the value, so
	 * that entries and runs can be told apart without the value (which
	 * may be a secret): whether it was set, and pk_key_env_digest of it.
	 * has_digest 0: not known (an entry stored by an older pickled). */
	int has_digest;
	int was_set;
	uint32_t digest;
} pk_envvar;

typedef struct pk_key_parts {
	size_t argc;
	char **argv;
	char *program;     /* argv[0] resolved through PATH */
	int program_check; /* enum pk_program_check */
	uint64_t program_size;
	int64_t program_mtime_ns;
	unsigned char program_hash[16];
	size_t ninputs;
	pk_input *inputs; /* sorted by path, no duplicates */
	size_t nenv;
	pk_envvar *env; /* sorted by name, no duplicates */
	char *cwd;      /* NULL unless the cwd is part of the key */
	int has_stdin;
	unsigned char stdin_hash[16];
	char *extra; /* -k TEXT, or NULL */
	size_t noutputs;
	char **outputs; /* declared output paths, in the order given */
	int cache_failures;
} pk_key_parts;

/* Frees everything parts owns (every pointer in it) and zeroes it.
 * NULL is fine. */
void pk_key_parts_free(pk_key_parts *parts);

/* The digest of parts. */
void pk_key_compute(const pk_key_parts *parts, pk_key *key);

/* 32 lowercase hex digits and a NUL into hex. */
void pk_key_hex(const pk_key *key, char hex[PK_KEY_HEX + 1]);

/* The same for any 16 bytes: a part's XXH3-128 (an input, the program,
 * stdin), an output path's lock name (outlock), a random lock token
 * (remote_lock). */
void pk_key_digest_hex(const unsigned char digest[16], char hex[PK_KEY_HEX + 1]);

/* 1 when a and b are the same key. */
int pk_key_equal(const pk_key *a, const pk_key *b);

/* Parses exactly 32 hex digits.  Returns 0, or -1. */
int pk_key_from_hex(const char *hex, pk_key *key);

/* Returns 1 when s is 1 to 32 hex digits (a key or a key prefix). */
int pk_key_is_prefix(const char *s);

/* A 32-bit digest of an environment variable's value (NULL: unset), for
 * telling values apart without showing them.  It is short on purpose: it
 * tells two values apart, but many values share it.  Still, as with the
 * key itself, a value that can be guessed (a short password) can be
 * confirmed against it: name such variables with care. */
uint32_t pk_key_env_digest(const char *value);

/* Selects environment variables for the key.  Each of names is a variable
 * name or a glob (fnmatch) over names in envp; a name that is not a glob is
 * recorded even when unset, a glob records what it matches.  Each gets
 * its digest (has_digest set).  The result is sorted and deduplicated; *out is owned by the caller
 * (free with the parts it goes into).  Returns 0, or -1 with errno ENOMEM. */
int pk_key_select_env(char *const *names, size_t nnames, char *const *envp, pk_envvar **out,
                      size_t *nout);

#endif
