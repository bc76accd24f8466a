/* interp.h: commands run through an interpreter (`python3 train.py`,
 * `sh job.sh`): the key holds the interpreter's file, not the script's,
 * unless an input names the script.  --explain points that out. */
#ifndef PK_INTERP_H
#define PK_INTERP_H

#include "key.h"

#include <stddef.h>

/* When argv (argc words) runs a known interpreter (python*, pypy*, perl*,
 * ruby*, node, nodejs, sh, bash, dash, zsh, ksh; also through env) on a
 * script file rather than on code given with -c or -e or on stdin, returns
 * the index in argv of the script argument, else -1.  *interp is set to
 * the index of the interpreter word (argv[0], or the word after env's
 * options). */
long pk_interp_script(char *const *argv, size_t argc, size_t *interp);

/* Returns 1 when the script at path (as the command will open it,
 * relative to the current directory) is among the present inputs of p
 * (the same file: device and inode), else 0. */
int pk_interp_script_keyed(const pk_key_parts *p, const char *path);

#endif
