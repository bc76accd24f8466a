/* config_keys.h: the table of configuration keys that the reader
 * (config.c) and the writer (config_dump.c) share, and the value formats
 * both use.  Internal to lib/: not part of config.h's contract. */
#ifndef PK_CONFIG_KEYS_H
#define PK_CONFIG_KEYS_H

#include "config.h"

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
	int min, max;               /* T_INT; min for T_SIZE too */
	const char *const *words;   /* T_ENUM, NULL-terminated */
	const struct field *sub;    /* T_MAP */
	size_t nsub;
	int nullable;               /* null unsets a T_STRING or T_URL */
};

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
const char *pk_config_format_size(uint64_t b, char *buf, size_t len);

#endif
