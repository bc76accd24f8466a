/* run_msg.c: a run's warning and its --explain lines (see run_msg.h). */
#include "run_msg.h"

#include <stdarg.h>
#include <stdio.h>

void run_warn(run_msg *m, const char *fmt, ...)
{
	va_list ap;

	if (m->r->warning[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(m->r->warning, sizeof(m->r->warning), fmt, ap);
	va_end(ap);
}

int run_explaining(const run_msg *m)
{
	return m->o->explain != NULL && !m->detached;
}

static void explain(run_msg *m, int hit, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void explain(run_msg *m, int hit, const char *fmt, va_list ap)
{
	char line[4200];

	if (!run_explaining(m) || (m->quiet && !hit))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	m->o->explain(m->o->explain_ctx, line);
}

void run_explain(run_msg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	explain(m, 0, fmt, ap);
	va_end(ap);
}

void run_explain_hit(run_msg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	explain(m, 1, fmt, ap);
	va_end(ap);
}

void run_output_lost(run_msg *m)
{
	if (m->r->status == 0)
		m->r->status = 1;
}
