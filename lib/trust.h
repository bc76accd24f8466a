/* trust.h: which links and directories pickled may go through for what it
 * reads, creates or removes on its own account (beyond what the command
 * does): only those owned by the user pickled runs as or by root, in
 * directories no other user can change (OpenSSH's StrictModes).  Checks
 * are made on descriptors, component by component, so that nothing can be
 * swapped between a check and its use. */
#ifndef PK_TRUST_H
#define PK_TRUST_H

#include "error.h"

#include <sys/stat.h>
#include <sys/types.h>

/* Non-zero for the user pickled runs as (effective uid) and root. */
int pk_trust_uid(uid_t uid);

/* Non-zero when no other user can add, rename or remove names in the
 * directory of status d: owned by a trusted uid, and not writable by group
 * or others unless the sticky bit keeps each to their own names. */
int pk_trust_dir(const struct stat *d);

/* Opens the directory path (O_RDONLY|O_DIRECTORY) walking it from "/" (a
 * relative path from the current directory's absolute name), so that
 * every directory on the way is one pk_trust_dir accepts and every
 * symbolic link on the way is owned by a trusted uid (its target is then
 * walked the same way).  With create, missing directories are made with
 * mode 0700 (never inside a directory of another user: it is refused
 * first).  Returns the fd, or -1 with err set naming the directory or link
 * refused (err->errnum 0 for a refusal, else the system error). */
int pk_trust_open_dir(const char *path, int create, pk_error *err);

/* Reads a file that holds a secret (a key, a password): a regular file,
 * reached without a final link, owned by the user pickled runs as and
 * readable or writable by nobody else, of at least min and at most cap
 * bytes.  Its content goes to buf, its size to *len.  Returns 0, or -1
 * with err set saying which rule the file breaks. */
int pk_trust_read_secret(const char *path, unsigned char *buf, size_t min, size_t cap, size_t *len,
                         pk_error *err);

#endif
