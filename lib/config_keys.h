/* config_keys.h: the table of configuration keys, the schema of the model
 * (config_model.h): each key's type, bounds, PICKLED_* variable and place
 * in pk_config or pk_config_job; setting one from its text, the same for a
 * file and a variable; checking a value; the exact formats that read back
 * the same.  The readers (config_yaml.c, config_env.c, config_snapshot.c)
 * and the writer (config_dump.c) all go through it.  Internal to lib/. */
#ifndef PK_CONFIG_KEYS_H
#define PK_CONFIG_KEYS_H

#include "config_model.h"

#include <stddef.h>
#include <stdint.h>

enum type {
	T_DURATION, /* int64_t ms */
	T_SIZE,     /* uint64_t bytes */
	T_INT,      /* int in [min, max] */
	T_BOOL,     /* int */
	T_STRING,   /* char * */
	T_PATH,     /* char *, absolute or ~/ in a file */
	T_URL,      /* char *, redis://, rediss:// or unix:// */
	T_ENUM,     /* int, index in words */
	T_LIST,     /* pk_strv */
	T_COMMAND,  /* pk_strv, not empty */
	T_MAP,      /* a mapping of sub keys */
	T_JOBS,     /* the jobs mapping */
};

struct field {
	const char *name;
	int id; /* index into origins; -1 for a mapping */
	enum type type;
	size_t off;               /* in pk_config or pk_config_job */
	const char *env;          /* its PICKLED_* variable, or NULL */
	int min, max;             /* T_INT; min for T_SIZE too; for
	                             T_DURATION, bounds in ms when max > 0;
	                             max: the longest T_STRING (0: any) */
	const char *const *words; /* T_ENUM, NULL-terminated */
	const struct field *sub;  /* T_MAP */
	size_t nsub;
	int nullable;          /* null unsets a T_STRING or T_URL */
	int tags;              /* a T_LIST of tags (pk_meta_tag_problem) */
	const char *shorthand; /* T_MAP: a scalar given for the mapping
	                          sets this sub key ("trace: true") */
};

/* Mappings and lists inside one another: the configuration needs 4
 * (top, jobs, a job, its command); more is a mistake or an attack. */
#define PK_CONFIG_MAX_DEPTH 8

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

extern const struct field pk_config_top_fields[];
extern const size_t pk_config_ntop;
extern const struct field pk_config_job_fields[];
extern const size_t pk_config_njob;

/* The one walk over the table: calls fn for each setting of f[0..n) in
 * order, a mapping's (gc, remote, metrics) in its place with section its
 * name (NULL at the top), the jobs mapping left out.  Stops at the first
 * non-zero fn returns, and returns it. */
typedef int pk_config_field_fn(const struct field *f, const char *section, void *ctx);
int pk_config_fields_each(const struct field *f, size_t n, const char *section,
                          pk_config_field_fn *fn, void *ctx);

/* Sets the scalar field f of base from s (NULL: a YAML null).  what names
 * the setting in messages; a file and a variable take the same values.
 * Returns 0, or -1 with the message in msg (the field is then unchanged). */
int pk_config_set_scalar(const struct field *f, const char *s, void *base, const char *what,
                         char *msg, size_t len);

/* After pk_config_set_scalar failed for f: a URL that cannot be parsed
 * leaves the shared tier out, whatever an earlier source set (the field is
 * unset), and is counted in *n; any other field is left as it was. */
void pk_config_drop_url(const struct field *f, void *base, size_t *n);

/* Whether value (f's, as it is kept in a pk_config or pk_config_job) is
 * one a reader could have set (bounds, words, an absolute path, a URL's
 * syntax, a command that names a program): NULL when it is, else why
 * not, in buf.  The readers and the parsed copy check with it. */
const char *pk_config_value_problem(const struct field *f, const void *value, char *buf,
                                    size_t len);

/* A value as it can be quoted in a message: at most 60 bytes, control
 * characters as '?'. */
const char *pk_config_show(const char *s, char *buf, size_t len);
/* The name in f[0..n) closest to s, or NULL. */
const char *pk_config_suggest_field(const char *s, const struct field *f, size_t n);
/* "a duration", "a list"... */
const char *pk_config_type_name(enum type t);

#endif
