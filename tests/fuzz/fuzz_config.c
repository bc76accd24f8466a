/* fuzz_config.c: libFuzzer harness for the configuration parser
 * (lib/config.c).  lib/config.h reads from a path only, so each input is
 * written to a private temporary file (0600, in a mkdtemp folder, as the
 * parser's ownership checks want) and read over the built-in defaults;
 * then everything a caller does with a loaded config is exercised:
 * validate, dump, find and apply every job. */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void cleanup(void)
{
	char dir[64];

	unlink(path);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
	rmdir(dir);
}

static int write_file(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	return close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pk_config c;
	char *dump = NULL;
	const char *suggestion;

	if (path[0] == '\0') {
		char dir[] = "/tmp/fuzz_config.XXXXXX";
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/pickled.conf", dir);
		atexit(cleanup);
	}
	if (write_file(data, size) < 0)
		abort();
	pk_config_init(&c);
	pk_config_read(&c, path, 0);
	pk_config_validate(&c);
	if (pk_config_dump(&c, &dump) == 0)
		free(dump);
	(void)pk_config_job_find(&c, "backup", &suggestion);
	for (size_t i = 0; i <= c.njobs; i++) {
		pk_run_opts o;
		memset(&o, 0, sizeof(o));
		if (pk_config_apply(&c, i < c.njobs ? &c.jobs[i] : NULL, &o) == 0) {
			free(o.inputs);
			free(o.envs);
			free(o.outputs);
			free(o.tags);
		}
		if (i < c.njobs)
			(void)pk_config_job_find(&c, c.jobs[i].name, &suggestion);
	}
	pk_config_free(&c);
	return 0;
}
