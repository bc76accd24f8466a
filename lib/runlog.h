/* runlog.h: the run log, DIR/runs.log: one line per run (time, job or
 * command, decision and why, duration, exit status, output bytes, key),
 * for `pickled log`, `pickled jobs` and whoever asks "when did this last
 * succeed".
 *
 * Invariants:
 * - A record is one line of at most PK_RUNLOG_RECORD_MAX bytes, written
 *   with a single write(2) to a descriptor opened with O_APPEND: on a local
 *   file system concurrent runs never lose or interleave a record.
 * - Every record ends with a checksum of the rest of its line: a damaged
 *   or torn line (a crash, a full disk, a stray write) is skipped by
 *   readers, never misread, and the records around it still count.
 * - The file stays under PK_RUNLOG_MAX bytes: the run whose record takes it
 *   past that trims it to its newest PK_RUNLOG_KEEP bytes of records, and
 *   gc trims it to the same.  Appenders hold a shared flock on the file
 *   while they write, the trimmer an exclusive one; the trimmer renames a
 *   new file into place, and an appender that finds its file renamed away
 *   opens the new one, so a record is never written into a file already
 *   replaced. */
#ifndef PK_RUNLOG_H
#define PK_RUNLOG_H

#include "error.h"
#include "key.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define PK_RUNLOG_MAX (4u << 20)   /* the log's size bound */
#define PK_RUNLOG_KEEP (2u << 20)  /* what a trim keeps */
#define PK_RUNLOG_RECORD_MAX 4096  /* one record, newline included */
#define PK_RUNLOG_COMMAND_MAX 1024 /* a command longer is cut */
#define PK_RUNLOG_NAME_MAX 64      /* a job name (see pk_runlog_name_valid) */

/* What pickled did with a run. */
enum pk_decision {
	PK_DECISION_HIT,      /* a fresh result replayed */
	PK_DECISION_STALE,    /* a stale result replayed, refresh started */
	PK_DECISION_MISS,     /* the command ran for the cache */
	PK_DECISION_UNCACHED, /* the command ran without the cache */
	PK_DECISION_N
};

typedef struct pk_runlog_rec {
	int64_t end_ms;                   /* when the run ended, Unix ms */
	int64_t duration_ms;              /* pickled's wall time for the run */
	int decision;                     /* enum pk_decision */
	char why[64];                     /* "expired", "forced"...; "" when plain */
	int exit_status;                  /* what pickled exited with (128+N: signal N) */
	uint64_t out_bytes;               /* stdout + stderr bytes the caller received */
	int64_t saved_ms;                 /* a hit: the stored run's duration; else 0 */
	unsigned store_failures;          /* results that could not be stored */
	unsigned remote_errors;           /* failures and timeouts of the shared tier */
	char key[PK_KEY_HEX + 1];         /* "" when the run had no key */
	char job[PK_RUNLOG_NAME_MAX + 1]; /* -j or --name; "" when none */
	/* The command's words, each ended by a NUL; argc of them.  A command
	 * longer than PK_RUNLOG_COMMAND_MAX keeps its first words only and
	 * truncated is set. */
	char command[PK_RUNLOG_COMMAND_MAX];
	size_t argc;
	int truncated;
} pk_runlog_rec;

/* "hit", "stale", "miss" or "uncached". */
const char *pk_decision_name(int decision);

/* 1 when name can label a run: 1 to 64 letters, digits, '.', '_' and '-',
 * not starting with '-' (the rule of job names in pickled.conf).  Names
 * are the only labels of the metrics: see metrics.h. */
int pk_runlog_name_valid(const char *name);

/* Fills r's command from argv (NULL-terminated), cutting as said above. */
void pk_runlog_set_command(pk_runlog_rec *r, char *const *argv);

/* Appends r to s's log, then trims the log when it has passed its bound.
 * Returns 0, or -1 with err set; a failure loses only this record. */
int pk_runlog_append(const pk_store *s, const pk_runlog_rec *r, pk_error *err);

/* Trims s's log to its newest PK_RUNLOG_KEEP bytes of sound records when it
 * is larger (damaged lines go too).  Returns 0, or -1 with err set. */
int pk_runlog_trim(const pk_store *s, pk_error *err);

/* The log read into memory: the sound records, oldest first. */
typedef struct pk_runlog {
	char *buf; /* the file's bytes */
	size_t len;
	size_t *lines; /* offsets of the sound records in buf */
	size_t n;
	size_t skipped; /* damaged lines left out */
} pk_runlog;

/* Reads s's log into log (an absent log is an empty one).  Returns 0, or
 * -1 with err set.  Free log with pk_runlog_free either way. */
int pk_runlog_load(const pk_store *s, pk_runlog *log, pk_error *err);

/* Decodes record i (0: the oldest) of log into r. */
void pk_runlog_get(const pk_runlog *log, size_t i, pk_runlog_rec *r);

void pk_runlog_free(pk_runlog *log);

/* Encodes r as its line (newline included) into buf, which holds at least
 * PK_RUNLOG_RECORD_MAX bytes.  Returns the line's length. */
size_t pk_runlog_encode(const pk_runlog_rec *r, char *buf);

/* Decodes one line (without its newline).  Returns 0, or -1 when it is not
 * a sound record. */
int pk_runlog_decode(const char *line, size_t len, pk_runlog_rec *r);

#endif
