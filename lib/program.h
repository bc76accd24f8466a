/* program.h: finding the program a command line names, the way execvp does,
 * and describing it for the key. */
#ifndef PK_PROGRAM_H
#define PK_PROGRAM_H

#include "error.h"
#include "key.h"

/* Resolves name: a name with a '/' is taken as is, anything else is looked
 * up in path_env (NULL: the system default path).  On success *path is a
 * malloc'd string the caller frees, made absolute from the working
 * directory when name or the PATH element was relative (so that ./job in
 * two folders are two programs), unless the working directory is gone.  Returns 0, or -1 with
 * err->errnum ENOENT (not found: exit 127) or EACCES (found, not executable: 126). */
int pk_program_resolve(const char *name, const char *path_env, char **path, pk_error *err);

/* Fills parts->program_size/mtime/hash from parts->program according to
 * parts->program_check.  statdir is the stat cache folder used when hashing
 * content (NULL: none).  Returns 0, or -1 with err set. */
int pk_program_describe(pk_key_parts *parts, const char *statdir, pk_error *err);

#endif
