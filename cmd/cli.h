/* cli.h: what the front end's subcommands share: global options, the
 * usage-error convention and exit statuses. */
#ifndef PK_CLI_H
#define PK_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "exitstatus.h"
#include "remote.h"

/* Exit statuses of pickled itself (exitstatus.h), under the front end's
 * names: a usage error is one of pickled's own failures. */
#define EXIT_USAGE PK_EXIT_FAILURE
#define EXIT_NOEXEC PK_EXIT_NOEXEC
#define EXIT_NOTFOUND PK_EXIT_NOTFOUND

struct cli {
	const char *cache_dir; /* -C, or NULL */
	const char *config;    /* -c, or NULL */
	uint64_t max_size;     /* the cache's size limit; 0: the default */
	pk_remote_opts remote; /* the shared tier; remote.url NULL: none */
	int cache_off;         /* PICKLED_DISABLE=1: nothing is read from or
	                          written to the cache folder */
};

struct subcommand {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	void (*help)(void);
	const char *summary;
};

/* Prints "pickled: <msg>" and "Try 'pickled[ CMD] --help' ..." to stderr;
 * returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports a getopt_long failure (unknown option or missing value) for
 * cmd; returns EXIT_USAGE. */
int cli_getopt_error(const char *cmd, int argc, char **argv, int opt);

/* Parses a flag's duration or size value; on failure prints the error for
 * flag and returns -1. */
int cli_duration(const char *cmd, const char *flag, const char *arg, int64_t *ms);
int cli_size(const char *cmd, const char *flag, const char *arg, uint64_t *bytes);

/* Appends s to a growing NULL-terminated vector; exits on out of memory. */
void cli_push(char ***v, size_t *n, char *s);

/* Opens the cache (-C, else the default), which must exist ("no cache at
 * DIR" otherwise: only run creates one); prints why not.  Returns 0/-1. */
struct pk_store;
int cli_open_store(struct cli *cli, struct pk_store *s);

/* The same, but when none_ok is set a cache that does not exist is no
 * error: returns 1, s closed (it holds no entries), nothing printed. */
int cli_open_store_or_none(struct cli *cli, struct pk_store *s, int none_ok);

/* Prints why pk_catalog_find failed: its verdict, or the system's reason
 * the cache could not be read.  Returns the exit status to use. */
struct pk_error;
int cli_lookup_failed(const struct pk_error *err);

/* Resolves a key prefix and reads that entry's metadata; prints why not.
 * Returns 0, or the exit status to use. */
struct pk_item;
int cli_load_item(struct pk_store *s, const char *arg, struct pk_item *it);

/* Loads the configuration (cli->config, else PICKLED_CONFIG, else the
 * system and user files; then the PICKLED_* variables) into *c, prints
 * every error, and fills cli->cache_dir and cli->max_size from it unless
 * given on the command line (cli->cache_dir then points into c).  Free c
 * with pk_config_free in any case.  Returns 0, or -1 after errors. */
struct pk_config;
int cli_load_config(struct cli *cli, struct pk_config *c);

/* cli_load_config without printing the errors. */
int cli_read_config(struct cli *cli, struct pk_config *c);

/* Prints each of c's errors as "pickled: <error>" on stderr. */
void cli_config_errors(const struct pk_config *c);
/* Are all of c's errors allocations that failed while reading it (the
 * files themselves may be fine)? */
int cli_config_oom_only(const struct pk_config *c);

/* `run` and `key` share their options: run_setup parses them, loads the
 * configuration and fills s->o.  When s->ready is 0 the command is done:
 * return what run_setup returned (0 after --help, else a reported error). */
#include "config.h"

/* What run's command line says; the configuration fills in the rest. */
/* `pickled run`'s flags: what they lay over the job and the configuration
 * (ov: its strings point into argv, its lists are malloc'd), and the
 * flags of this run alone. */
struct run_flags {
	pk_overlay ov;
	const char *job, *name;
	int force, warm, explain, no_remote;
};

struct run_setup {
	struct run_flags f;
	pk_config cfg;
	pk_run_opts o;
	char **job_cmd;
	int broken, disabled, ready;
};

int run_setup(struct cli *cli, const char *cmd, void (*help)(void), int argc, char **argv,
              struct run_setup *s);
void run_setup_free(struct run_setup *s);

int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_key(struct cli *cli, int argc, char **argv);
void help_key(void);
void help_run(void);
int cmd_config(struct cli *cli, int argc, char **argv);
void help_config(void);
int cmd_jobs(struct cli *cli, int argc, char **argv);
void help_jobs(void);
int cmd_ls(struct cli *cli, int argc, char **argv);
void help_ls(void);
int cmd_show(struct cli *cli, int argc, char **argv);
void help_show(void);
int cmd_cat(struct cli *cli, int argc, char **argv);
void help_cat(void);
int cmd_rm(struct cli *cli, int argc, char **argv);
void help_rm(void);
int cmd_gc(struct cli *cli, int argc, char **argv);
void help_gc(void);
int cmd_stats(struct cli *cli, int argc, char **argv);
void help_stats(void);
/* stats --prometheus: prints s's metrics; returns the exit status. */
int stats_prometheus(struct cli *cli, const struct pk_store *s);
int cmd_log(struct cli *cli, int argc, char **argv);
void help_log(void);
int cmd_verify(struct cli *cli, int argc, char **argv);
void help_verify(void);

#endif
