/* judge.h: what a traced run's records (trace.h) mean for its result, at
 * the end of the run: which paths were inputs, and as what (manifest.h's
 * records), which were written, and whether the result may be stored.
 *
 * Not inputs: /proc, /sys, /dev, the cache directory, the paths the ignore
 * globs match, and whatever the tree wrote.  A written path is an output,
 * except one whose existing content the tree read before writing it: that
 * makes the result uncacheable unless it is a declared output.  A lookup
 * that found nothing followed by the creation of that path (a lock file,
 * __pycache__) is an output.  An input whose mtime or ctime is not older
 * than the start of the run, or that changed by its end, makes the result
 * uncacheable; a directory's listing may change by the tree's own
 * creations and removals in it. */
#ifndef PK_JUDGE_H
#define PK_JUDGE_H

#include "error.h"
#include "manifest.h"
#include "trace.h"

#include <stddef.h>

typedef struct pk_judge_opts {
	const char *cache_dir; /* never an input (NULL: none) */
	char *const *ignore;   /* trace.ignore globs (see pk_judge_ignored) */
	size_t nignore;
	const char *cwd;      /* the run's working directory, absolute */
	char *const *outputs; /* declared -o paths, relative to cwd or not */
	size_t noutputs;
	const char *statdir;  /* the input stat cache (NULL: none) */
	int network_uncached; /* trace.network: uncached */
} pk_judge_opts;

typedef struct pk_judgement {
	int cacheable;
	char why[600];   /* not cacheable: why, e.g. "input changed
	                    during the run: /srv/a.csv" */
	pk_mrec *inputs; /* sorted by path */
	size_t ninputs;
	char **written; /* sorted */
	size_t nwritten;
	char **peers; /* network peers, in first-connect order */
	size_t npeers;
} pk_judgement;

/* Judges res (a PK_TRACE_COMPLETE one; any other state is not cacheable,
 * with res->why).  Returns 0 with *j filled (free it with
 * pk_judgement_free), or -1 with err set (no memory, an input that could
 * not be read). */
int pk_judge(const pk_trace_result *res, const pk_judge_opts *o, pk_judgement *j, pk_error *err);

void pk_judgement_free(pk_judgement *j);

/* 1 when path (absolute) is matched by one of the globs: a glob with a
 * slash is matched against the whole path and each folder above it (a
 * relative one taken from cwd); one without, against each component's
 * name ("__pycache__", "*.log"). */
int pk_judge_ignored(const char *path, char *const *globs, size_t n, const char *cwd);

#endif
