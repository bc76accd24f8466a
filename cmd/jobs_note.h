/* jobs_note.h: why `pickled jobs` finds no entry for a job's key: its
 * newest entry was stored from another directory, or its key changed. */
#ifndef PK_JOBS_NOTE_H
#define PK_JOBS_NOTE_H

#include "catalog.h"
#include "config.h"

#include <stddef.h>

/* The entries of a cache, read once for all the jobs that need them. */
struct jobs_entries {
	pk_catalog cat;
	int loaded; /* 1: cat holds them; -1: unreadable */
};

/* Writes into why (len bytes) why the job j has no entry for the key
 * computed in the directory cwd, from the newest entry stored under its
 * name in s; "" when it has none (never stored, or removed). */
void jobs_why_none(const pk_store *s, struct jobs_entries *e, const pk_config_job *j,
                   const char *cwd, char *why, size_t len);

void jobs_entries_free(struct jobs_entries *e);

#endif
