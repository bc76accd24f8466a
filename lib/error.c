/* error.c: filling and formatting pk_error. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pk_error_set(pk_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *pk_error_str(const pk_error *err, char *buf, size_t len)
{
	if (err->errnum != 0)
		snprintf(buf, len, "%s: %s", err->msg, strerror(err->errnum));
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}
