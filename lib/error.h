/* error.h: how lib/ reports a failure to its caller.
 * lib/ never prints; a failing function fills a pk_error and returns -1 or
 * NULL.  cmd/ decides how to phrase it and which exit status to use. */
#ifndef PK_ERROR_H
#define PK_ERROR_H

#include <stddef.h>

typedef struct pk_error {
	int errnum;    /* errno value, or 0 when the failure is not a system error */
	char msg[512]; /* what failed, e.g. "cannot create cache directory: /x" */
} pk_error;

/* Sets err (may be NULL) to "fmt..." and errnum.  Returns -1 for chaining. */
int pk_error_set(pk_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The size of a buffer for pk_error_str: the message (512 bytes) plus ": "
 * and the longest strerror text, with room to spare. */
#define PK_ERROR_STR_LEN 700

/* Writes "msg: strerror(errnum)" (or just msg) into buf; returns buf. */
const char *pk_error_str(const pk_error *err, char *buf, size_t len);

#endif
