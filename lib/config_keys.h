/* config_keys.h: the table of configuration keys and the helpers that the
 * parts of the configuration share: the whole (config.c), the YAML reader
 * (config_yaml.c), the writer (config_dump.c) and the parsed copy
 * (config_snapshot.c).  Internal to lib/: not part of config.h's
 * contract. */
#ifndef PK_CONFIG_KEYS_H
#define PK_CONFIG_KEYS_H

#include "config.h"
#include "config_snapshot.h"

#include <stddef.h>
#include <stdint.h>

enum type {
	T_DURATION,   /* int64_t ms */
	T_SIZE,       /* uint64_t bytes */
	T_INT,        /* int in [min, max] */
	T_BOOL,       /* int */
	T_STRING,     /* char * */
	T_PATH,       /* char *, absolute or ~/ in a file */
	T_URL,        /* char *, redis://, rediss:// or unix:// */
	T_ENUM,       /* int, index in words */
	T_LIST,       /* pk_strv */
	T_COMMAND,    /* pk_strv, not empty */
	T_MAP,        /* a mapping of sub keys */
	T_JOBS,       /* the jobs mapping */
};

struct field {
	const char *name;
	int id;                     /* index into origins; -1 for a mapping */
	enum type type;
	size_t off;                 /* in pk_config or pk_config_job */
	const char *env;            /* its PICKLED_* variable, or NULL */
	int min, max;               /* T_INT; min for T_SIZE too; for
	                               T_DURATION, bounds in ms when max > 0;
	                               max: the longest T_STRING (0: any) */
	const char *const *words;   /* T_ENUM, NULL-terminated */
	const struct field *sub;    /* T_MAP */
	size_t nsub;
	int nullable;               /* null unsets a T_STRING or T_URL */
	int tags;                   /* a T_LIST of tags (pk_meta_tag_problem) */
};

#define PK_CONFIG_MAX_FILE (1 << 20)   /* a configuration file, not a database */
/* Mappings and lists inside one another: the configuration needs 4
 * (top, jobs, a job, its command); more is a mistake or an attack. */
#define PK_CONFIG_MAX_DEPTH 8

#define CFG(m) offsetof(pk_config, m)
#define JOB(m) offsetof(pk_config_job, m)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

extern const struct field pk_config_top_fields[];
extern const size_t pk_config_ntop;
extern const struct field pk_config_job_fields[];
extern const size_t pk_config_njob;

/* A Redis URL with its password hidden, into buf. */
const char *pk_config_hide_password(const char *url, char *buf, size_t len);

/* Exact forms that read back the same: "1h30m15s", "forever"; "1536K". */
const char *pk_config_format_duration(int64_t ms, char *buf, size_t len);

/* 1 when ms is within f's bounds (a T_DURATION without them takes any). */
int pk_config_duration_ok(const struct field *f, int64_t ms);
const char *pk_config_format_size(uint64_t b, char *buf, size_t len);

/* --- shared by config.c and config_yaml.c --------------------------------- */

/* Adds a message to c->errors (an allocation failure keeps a fixed one). */
void pk_config_add_error(pk_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds "PATH refused: WHY" to c->errors and records it in c->refused. */
void pk_config_refuse(pk_config *c, const char *path, const char *why);

/* Records path in c->files (not read, so far); returns c's copy, or NULL. */
const char *pk_config_add_file(pk_config *c, const char *path);

void pk_config_strv_free(pk_strv *l);
/* Appends a copy of s.  Returns 0, or -1 when out of memory. */
int pk_config_strv_push(pk_strv *l, const char *s);
/* Frees what j owns and zeroes it. */
void pk_config_job_free(pk_config_job *j);

/* Reads the file of src over c as pk_config_read does, leaving in src
 * whether it was there and its fstat (for the parsed copy). */
int pk_config_read_source(pk_config *c, struct pk_config_source *src);

/* Sets the scalar field f of base from s (NULL: a YAML null).  what names
 * the setting in messages; a file and a variable take the same values.
 * Returns 0, or -1 with the message in msg (the field is then unchanged). */
int pk_config_set_scalar(const struct field *f, const char *s, void *base,
                         const char *what, char *msg, size_t len);

/* A value as it can be quoted in a message: at most 60 bytes, control
 * characters as '?'. */
const char *pk_config_show(const char *s, char *buf, size_t len);
/* Keeps in *best the candidate closest to s, if close enough to suggest. */
void pk_config_closest(const char *s, const char *cand, const char **best, unsigned *bestd);
/* The name in f[0..n) closest to s, or NULL. */
const char *pk_config_suggest_field(const char *s, const struct field *f, size_t n);
/* "a duration", "a list"... */
const char *pk_config_type_name(enum type t);

#endif
