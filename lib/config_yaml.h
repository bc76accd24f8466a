/* config_yaml.h: the YAML reader of pickled.conf, above the model
 * (config_model.h) and beside the other readers: one file over what a
 * pk_config holds. */
#ifndef PK_CONFIG_YAML_H
#define PK_CONFIG_YAML_H

#include "config_model.h"

/* Reads the file at path over what c holds.  A file that does not exist is
 * skipped when optional is non-zero, an error otherwise.  The file must be
 * a regular file owned by the user or root and not writable by group or
 * others (even a group of the owner alone); else it is refused: "FILE
 * refused: why" in c->errors, its index in c->refused.  Every problem is
 * added to c->errors.  Returns 0 when the file was sound or absent, -1
 * when it added errors. */
int pk_config_read(pk_config *c, const char *path, int optional);

/* pk_config_read of src's file, leaving in src whether it was there, its
 * fstat and hash (for the parsed copy's fingerprint). */
int pk_config_read_source(pk_config *c, struct pk_config_source *src);

#endif
