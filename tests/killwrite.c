/* killwrite.c: an LD_PRELOAD library for tests that kills its process with
 * SIGKILL at its first write(2) to a file under PK_TEST_KILL_DIR: a
 * kill -9 in the middle of restoring an output file, at a moment the test
 * chooses rather than one it races for.  Build:
 *   cc -shared -fPIC -o killwrite.so killwrite.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *dir = getenv("PK_TEST_KILL_DIR");
	char proc[64], path[4096];
	ssize_t n;

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (dir != NULL && *dir != '\0') {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, path, sizeof(path) - 1);
		if (n > 0) {
			path[n] = '\0';
			/* After a first piece is written: a temporary with content. */
			if (strncmp(path, dir, strlen(dir)) == 0 && path[strlen(dir)] == '/') {
				real(fd, buf, len > 4096 ? 4096 : len);
				raise(SIGKILL);
			}
		}
	}
	return real(fd, buf, len);
}
