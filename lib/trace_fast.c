/* trace_fast.c: the fast path's files for one traced run (the scheme is
 * in trace_shm.h): a private folder holding the shim (written from the copy
 * embedded in pickled, lib/trace_blob.c) and the shared memory, the two
 * environment variables that point the command's programs at them, and
 * the reading of the shim's records once the tree has ended.  Any failure
 * here only means no fast path: every watched call then stops the tree. */
#include "trace_fast.h"

#include "io.h"
#include "trace_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes a new file name in f->dir with len bytes of data. */
static int put(const struct trace_fast *f, const char *name, mode_t mode, const void *data,
               size_t len, int *keep_fd)
{
	char path[sizeof(f->dir) + 16];
	int fd, n = snprintf(path, sizeof(path), "%s/%s", f->dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	fd = open(path, (keep_fd ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	          mode);
	if (fd < 0)
		return -1;
	if (data != NULL ? pk_write_all(fd, data, len) < 0 : ftruncate(fd, (off_t)len) < 0) {
		close(fd);
		return -1;
	}
	if (keep_fd != NULL)
		*keep_fd = fd;
	else
		close(fd);
	return 0;
}

int trace_fast_open(struct trace_fast *f, uint64_t magic)
{
	const char *tmp = getenv("TMPDIR");
	const char *old = getenv("LD_PRELOAD");
	size_t so_len = (size_t)(pk_trace_shim_so_end - pk_trace_shim_so);
	int fd = -1, n;
	void *p;

	memset(f, 0, sizeof(*f));
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	n = snprintf(f->dir, sizeof(f->dir), "%s/pickled-trace.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(f->dir) || mkdtemp(f->dir) == NULL) {
		f->dir[0] = '\0';
		return -1;
	}
	/* Readable by every process of the tree, whatever user it becomes;
	 * the shared memory stays the tracer's user's own. */
	if (chmod(f->dir, 0755) < 0 ||
	    put(f, "shim.so", 0644, pk_trace_shim_so, so_len, NULL) < 0 ||
	    put(f, "shm", 0600, NULL, sizeof(struct pk_shm), &fd) < 0)
		goto fail;
	p = mmap(NULL, sizeof(struct pk_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		goto fail;
	f->shm = p;
	f->shm->count = PK_SHM_SLOTS;
	f->shm->magic = PK_SHM_MAGIC;
	n = snprintf(f->preload, sizeof(f->preload), "%s/shim.so%s%s", f->dir,
	             old != NULL && old[0] != '\0' ? ":" : "", old != NULL ? old : "");
	if (n < 0 || (size_t)n >= sizeof(f->preload))
		goto fail;
	n = snprintf(f->env, sizeof(f->env), "%s/shm:%" PRIx64, f->dir, magic);
	if (n < 0 || (size_t)n >= sizeof(f->env))
		goto fail;
	return 0;
fail:
	trace_fast_close(f);
	return -1;
}

void trace_fast_env(const struct trace_fast *f)
{
	if (f->shm == NULL)
		return;
	setenv("LD_PRELOAD", f->preload, 1);
	setenv(PK_SHM_ENV, f->env, 1);
}

void trace_fast_drain(struct trace_fast *f, struct trace_table *t)
{
	const struct pk_shm *shm = f->shm;
	uint64_t n;

	if (shm == NULL)
		return;
	n = __atomic_load_n(&shm->used, __ATOMIC_ACQUIRE);
	if (n > shm->count)
		n = shm->count;
	for (uint64_t i = 0; i < n; i++) {
		const struct pk_shm_slot *s = &shm->slot[i];
		/* Not ready: its process died writing it, before the call. */
		if (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) != 1 || s->len >= PK_SHM_PATH ||
		    s->path[s->len] != '\0')
			continue;
		trace_table_add(t, s->seq, s->path, s->len, s->flags, 0, &s->first);
	}
	t->seq = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE);
}

void trace_fast_close(struct trace_fast *f)
{
	char path[sizeof(f->dir) + 16];

	if (f->shm != NULL)
		munmap(f->shm, sizeof(*f->shm));
	f->shm = NULL;
	if (f->dir[0] == '\0')
		return;
	for (int i = 0; i < 2; i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", f->dir, i == 0 ? "shim.so" : "shm");
		if (n > 0 && (size_t)n < sizeof(path))
			unlink(path);
	}
	rmdir(f->dir);
	f->dir[0] = '\0';
}
