/* run_msg.h: what a run says to its caller besides the command's own
 * output: one warning for stderr and the --explain lines.  The sink every
 * run module writes to, at the bottom of the run group so that none of
 * them needs run.c. */
#ifndef PK_RUN_MSG_H
#define PK_RUN_MSG_H

#include "run_opts.h"

typedef struct run_msg {
	pk_run_result *r;     /* the first warning goes to r->warning */
	const pk_run_opts *o; /* o->explain: where explain lines go */
	int detached;         /* a background run: says nothing */
	int quiet;            /* a second lookup: explains only a hit */
} run_msg;

/* pickled says why once: the first warning is kept, later ones dropped. */
void run_warn(run_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line for --explain, when asked for: a step on the way (a miss, a
 * wait...), said unless quiet. */
void run_explain(run_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line for --explain saying a result was replayed (a hit, a stale
 * hit): the kind of line quiet mode lets through. */
void run_explain_hit(run_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when explain lines are wanted at all: spares building them. */
int run_explaining(const run_msg *m);

/* Some output could not be delivered (EPIPE aside): the exit status says
 * so, as a bare command's failed write would. */
void run_output_lost(run_msg *m);

#endif
