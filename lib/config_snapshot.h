/* config_snapshot.h: a parsed copy of the configuration files, so that a
 * run does not parse YAML every time (libyaml spends on a 50-line
 * pickled.conf more instructions than the rest of a hit, about a tenth of
 * its time).  A reader beside the YAML and environment readers, above
 * the model (config_model.h); config.c's pk_config_load is its only user.
 *
 * The copy holds what the files set, and a fingerprint of everything that
 * decided it: the content of each file (an XXH3-128 hash of the bytes that
 * were parsed), its owner, mode and size, or that it was absent; the user,
 * $HOME (which "~/" in a path expands to), and the pickled binary itself
 * (its build-id: another build may parse differently).  It
 * is used only while every part is the same, so any edit, however it
 * leaves the file's times, is read at once. */
#ifndef PK_CONFIG_SNAPSHOT_H
#define PK_CONFIG_SNAPSHOT_H

#include "config_model.h"

#include <stddef.h>

/* Loads the copy kept in the folder dir for the chain of files src into c,
 * if it was made from the files as they are now (each file is read and
 * hashed here; src's present, st and hash are set).  c must hold
 * pk_config_init's defaults and nothing else.  Returns 0 when c holds what
 * the files set; 1 when none of the files exists (there is nothing to
 * read; c is untouched); or -1 with c untouched: no copy, a stale or
 * damaged one, one not owned by the user, or a file that cannot be read
 * or is not a regular file (reading it will say why). */
int pk_config_snapshot_load(pk_config *c, const char *dir, struct pk_config_source *src, size_t n);

/* Writes c, as the files of src (present, st and hash from their reading)
 * left it without errors, as the copy for that chain in the folder dir:
 * a temporary then rename, mode 0600.  Best effort, nothing is reported:
 * a copy not written only costs a parse next time.  Nothing is written
 * when no file exists, and no folder is created: dir must exist, be the
 * user's and not be writable by others. */
void pk_config_snapshot_save(const pk_config *c, const char *dir,
                             const struct pk_config_source *src, size_t n);

/* The copy's bytes, as pk_config_snapshot_save writes them: *out is
 * malloc'd, the caller's.  Returns 0, or -1 (out of memory, or c holds a
 * value that did not come from a file of src). */
int pk_config_snapshot_encode(const pk_config *c, const struct pk_config_source *src, size_t n,
                              unsigned char **out, size_t *len);

/* Reads the bytes of a copy into c (which holds pk_config_init's defaults
 * and nothing else) if its fingerprint is the one of src.  Every length
 * and count is checked against len: any bytes are safe to give it.
 * Returns 0, or -1 with c untouched. */
int pk_config_snapshot_decode(pk_config *c, const unsigned char *buf, size_t len,
                              const struct pk_config_source *src, size_t n);

#endif
