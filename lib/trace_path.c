/* trace_path.c: see trace_path.h.  Also compiled into the fast path's
 * shared object (lib/trace-shim): no other module's functions here. */
#include "trace_path.h"

#include "trace_record.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t pk_trace_open_flags(uint64_t fl, int *nofollow)
{
	uint32_t f = 0;

	*nofollow = (fl & O_NOFOLLOW) || ((fl & O_CREAT) && (fl & O_EXCL));
	if ((fl & O_TMPFILE) == O_TMPFILE) {
		*nofollow = 0;
		return PK_TRACE_LOOKUP; /* an unnamed file in that directory */
	}
	if (fl & O_PATH) {
		f = PK_TRACE_LOOKUP;
	} else {
		unsigned acc = (unsigned)(fl & O_ACCMODE);
		if (acc != O_WRONLY)
			f |= PK_TRACE_READ;
		if (acc != O_RDONLY)
			f |= PK_TRACE_WRITE;
		if (fl & O_CREAT)
			f |= PK_TRACE_CREATE;
		if (fl & O_TRUNC) /* Linux truncates even with O_RDONLY */
			f |= PK_TRACE_TRUNC | PK_TRACE_WRITE;
	}
	if (fl & O_DIRECTORY)
		f |= PK_TRACE_DIRECTORY;
	return f;
}

ssize_t pk_trace_join(const char *base, const char *path, char *out, size_t size)
{
	size_t len = 0;

	for (int part = 0; part < 2; part++) {
		const char *p = part == 0 ? base : path;
		while (*p != '\0') {
			const char *e = strchr(p, '/');
			size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
			if (n > 0 && !(n == 1 && p[0] == '.')) {
				if (len + 1 + n + 1 > size)
					return -1;
				out[len++] = '/';
				memcpy(out + len, p, n);
				len += n;
			}
			p += n;
			if (*p == '/')
				p++;
		}
	}
	if (len == 0) {
		if (size < 2)
			return -1;
		out[len++] = '/';
	}
	out[len] = '\0';
	return (ssize_t)len;
}

int pk_trace_pseudo(const char *path, size_t len)
{
	static const char *const roots[] = { "/proc", "/sys", "/dev" };

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		size_t n = strlen(roots[i]);
		if (len >= n && memcmp(path, roots[i], n) == 0 && (len == n || path[n] == '/'))
			return 1;
	}
	return 0;
}

int pk_trace_proc_fd(const char *path, long pid, char *out, size_t size)
{
	const char *p, *fd;
	char *end;
	long who = pid, n;

	if (strncmp(path, "/dev/fd/", 8) == 0) {
		fd = path + 8;
	} else if (strncmp(path, "/proc/", 6) == 0) {
		p = path + 6;
		if (strncmp(p, "self/", 5) == 0) {
			p += 5;
		} else if (strncmp(p, "thread-self/", 12) == 0) {
			p += 12;
		} else {
			who = strtol(p, &end, 10);
			if (end == p || *end != '/' || who <= 0)
				return 0;
			p = end + 1;
		}
		if (strncmp(p, "fd/", 3) != 0)
			return 0;
		fd = p + 3;
	} else {
		return 0;
	}
	n = strtol(fd, &end, 10);
	if (end == fd || *end != '\0' || n < 0)
		return 0;
	n = snprintf(out, size, "/proc/%ld/fd/%ld", who, n);
	return n > 0 && (size_t)n < size;
}
