/* config.h: pickled.conf, the YAML configuration, loaded: the chain of
 * files (built-in defaults, the system file, the user file or one named
 * file, PICKLED_* variables), the checks across keys, and applying it to
 * a run.  The top of the config group, whose floors are, from the bottom:
 * the model and its key table (config_model.h, config_keys.h); the
 * readers of YAML, of the environment and of the parsed copy, and the
 * writer, beside each other (config_yaml.h, config_env.h,
 * config_snapshot.h, config_dump.h); then this.  Loading never stops at
 * the first error: all of them are collected in the pk_config for the
 * caller to print. */
#ifndef PK_CONFIG_H
#define PK_CONFIG_H

#include "config_dump.h"
#include "config_env.h"
#include "config_model.h"
#include "config_yaml.h"
#include "run_opts.h"

/* Checks what no single value can: that every stale duration, the top
 * level's and each job's, is shorter than its ttl.  Returns 0, or -1 when
 * it added errors. */
int pk_config_validate(pk_config *c);

/* The whole chain over the defaults in c: file if not NULL, else
 * PICKLED_CONFIG from envp if set, else the system file then the user file
 * ($XDG_CONFIG_HOME/pickled/pickled.conf, else
 * $HOME/.config/pickled/pickled.conf), both optional; then the variables
 * of envp; then pk_config_validate.
 *
 * snapshot_dir (NULL: none) is the folder of the parsed copies of the
 * files (config-HASH.cache, one per chain of files): when the chain's copy
 * was made from the files as they stat now, it is read instead of them (c
 * must then hold pk_config_init's defaults and nothing else); when the
 * files are read without errors, the copy is written for next time, best
 * effort (a folder that does not exist or cannot be written only costs a
 * parse next time).  Returns 0, or -1 when c->errors is not empty. */
int pk_config_load(pk_config *c, const char *file, char *const *envp, const char *snapshot_dir);

/* The remote tier's settings in c (pointers into c). */
void pk_config_remote(const pk_config *c, pk_remote_opts *o);

/* Fills o with the settings of c and, when job is not NULL, of the job over
 * them (o->argv is then the job's command).  A job's standard input mode
 * is never unless the job says otherwise.  Compression threads 0 becomes
 * one per core, up to 4.  The arrays o->inputs, o->envs, o->outputs and
 * o->tags are malloc'd (the caller frees them; they may grow them with
 * realloc); the strings and o->argv are c's, valid while c lives.  Fields
 * not named here are left alone.  Returns 0, or -1 with errno ENOMEM. */
int pk_config_apply(const pk_config *c, const pk_config_job *job, pk_run_opts *o);

#endif
