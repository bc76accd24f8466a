/* version.h: the versions of the libraries pickled was built with and is
 * running with, for `pickled --version` and so for bug reports. */
#ifndef PK_VERSION_H
#define PK_VERSION_H

#include <stddef.h>

typedef struct pk_libversion {
	const char *name; /* "zstd", "xxhash", "libyaml", "hiredis", "libsodium" */
	char built[32];   /* the version of the headers compiled against */
	char running[32]; /* the version of the code in this process, as
	                     the library reports it; for a library without
	                     a version call, the one linked in statically,
	                     or the shared object's version, or "?" */
	int is_static;    /* 1: linked into the binary; 0: a shared object */
} pk_libversion;

/* Fills out[0..max) with the libraries pickled uses, in a fixed order, and
 * returns how many there are (which may exceed max: only max are filled).
 * Never fails: an unknown running version is "?". */
size_t pk_version_libs(pk_libversion *out, size_t max);

#endif
