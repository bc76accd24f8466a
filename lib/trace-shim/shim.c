/* shim.c: the tracer's fast path, preloaded into the dynamically linked
 * programs of a traced tree (see lib/trace_shm.h for the whole scheme).
 * It wraps the calls a program makes most (read-only open, the stat
 * family, access, readlink), records them in the shared memory and makes
 * the system call itself with the run's magic number in r9, which the
 * filter lets through without a ptrace stop.  When it cannot record a
 * call, it makes the call plainly and the filter stops it as usual.
 *
 * Built as its own shared object (not part of libpickled.a) and embedded
 * in pickled (lib/trace_blob.c).  It uses only the raw system call
 * interface for anything the filter watches, and keeps no locks: the
 * wrappers may run in signal handlers, threads and vfork children. */
#include "trace_path.h"
#include "trace_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static struct pk_shm *shm; /* NULL: not active, every call goes the slow way */
static uint64_t magic;
/* What this process has recorded: hashes of (path, flags), 0 empty. */
#define SEEN (1u << 16)
static uint64_t *seen;

/* A raw system call with r9 = key: the filter lets it through when key is
 * the run's magic number, and stops it otherwise.  Returns -errno on
 * failure, as the kernel does. */
static long raw(long nr, long a, long b, long c, long d, long e, uint64_t key)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = (long)key;
	long ret;

	/* r9 is cleared after the call: a libc wrapper that runs next and
	 * leaves r9 alone (fewer than six arguments) must not inherit the
	 * magic number and slip past the filter. */
	__asm__ volatile("syscall\n\txor %%r9d, %%r9d"
	                 : "=a"(ret), "+r"(r9)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
	                 : "rcx", "r11", "memory");
	return ret;
}

/* The recorded call: let through.  (Not active: magic 0, stopped.) */
static long sys5(long nr, long a, long b, long c, long d, long e)
{
	return raw(nr, a, b, c, d, e, magic);
}

/* The plain call: the filter stops it and the tracer records it. */
static long slow(long nr, long a, long b, long c, long d, long e)
{
	return raw(nr, a, b, c, d, e, 0);
}

static long done(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static uint64_t hash(const char *s, size_t n, uint32_t flags)
{
	uint64_t h = 0xcbf29ce484222325ull ^ flags;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h | 1;
}

/* Whether h is new to this process; adds it.  A full set says new. */
static int first_time(uint64_t h)
{
	for (uint32_t i = (uint32_t)h & (SEEN - 1), n = 0; n < SEEN / 2;
	     i = (i + 1) & (SEEN - 1), n++) {
		uint64_t cur = __atomic_load_n(&seen[i], __ATOMIC_RELAXED);
		if (cur == h)
			return 0;
		if (cur == 0) {
			uint64_t empty = 0;
			if (__atomic_compare_exchange_n(&seen[i], &empty, h, 0, __ATOMIC_RELAXED,
			                                __ATOMIC_RELAXED))
				return 1;
			if (empty == h)
				return 0;
		}
	}
	return 1;
}

/* Records that the call about to be made does flags to path (relative to
 * dirfd).  Returns 0 when it is recorded (or needs no record), -1 when
 * the call must go the slow way. */
static int note(int dirfd, const char *path, uint32_t flags, int nofollow)
{
	/* Small buffers: the wrappers may run on a signal's alternate stack.
	 * A longer path goes the slow way. */
	char base[PK_SHM_PATH], full[PK_SHM_PATH];
	uint64_t seq, slot, h;
	ssize_t len;
	struct stat st;
	struct pk_shm_slot *s;

	if (shm == NULL || path == NULL)
		return -1;
	seq = __atomic_add_fetch(&shm->seq, 1, __ATOMIC_RELAXED);
	if (path[0] == '\0')
		return 0; /* ENOENT, looks at nothing */
	base[0] = '\0';
	if (path[0] != '/') {
		long n;
		if (dirfd == AT_FDCWD) {
			n = sys5(SYS_getcwd, (long)base, sizeof(base), 0, 0, 0);
			if (n <= 0 || base[0] != '/')
				return -1;
		} else {
			char link[32] = "/proc/self/fd/", digits[12];
			size_t at = strlen(link), k = 0;
			if (dirfd < 0)
				return -1;
			for (unsigned v = (unsigned)dirfd; k == 0 || v > 0; v /= 10)
				digits[k++] = (char)('0' + v % 10);
			while (k > 0)
				link[at++] = digits[--k];
			link[at] = '\0';
			n = sys5(SYS_readlinkat, AT_FDCWD, (long)link, (long)base, sizeof(base) - 1,
			         0);
			if (n <= 0 || n >= (long)sizeof(base) - 1 || base[0] != '/')
				return -1; /* let the tracer judge it */
			base[n] = '\0';
		}
	}
	if ((len = pk_trace_join(base, path, full, sizeof(full))) < 0)
		return -1;
	if (pk_trace_pseudo(full, (size_t)len))
		/* A descriptor reopened through /proc names a real file: the
		 * tracer resolves it. */
		return pk_trace_proc_fd(full, 0, base, sizeof(base)) ? -1 : 0;
	h = hash(full, (size_t)len, flags | (nofollow ? 1u << 31 : 0));
	if (!first_time(h))
		return 0;
	slot = __atomic_fetch_add(&shm->used, 1, __ATOMIC_RELAXED);
	if (slot >= shm->count)
		return -1; /* full: the slow way from now on */
	s = &shm->slot[slot];
	s->flags = flags;
	s->len = (uint32_t)len;
	s->seq = seq;
	memcpy(s->path, full, (size_t)len + 1);
	memset(&s->first, 0, sizeof(s->first));
	long r = sys5(SYS_newfstatat, AT_FDCWD, (long)full, (long)&st,
	              nofollow ? AT_SYMLINK_NOFOLLOW : 0, 0);
	if (r < 0)
		s->first.exists = r != -ENOENT && r != -ENOTDIR;
	else
		pk_trace_stat_from(&s->first, &st);
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	return 0;
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *env = getenv(PK_SHM_ENV);
	const char *colon;
	char path[PATH_MAX];
	uint64_t m;
	long fd;
	void *p, *q;

	if (env == NULL || (colon = strrchr(env, ':')) == NULL ||
	    (size_t)(colon - env) >= sizeof(path))
		return;
	memcpy(path, env, (size_t)(colon - env));
	path[colon - env] = '\0';
	m = strtoull(colon + 1, NULL, 16);
	if (m == 0)
		return;
	magic = m;
	fd = sys5(SYS_openat, AT_FDCWD, (long)path, O_RDWR | O_CLOEXEC, 0, 0);
	if (fd < 0)
		goto off;
	p = mmap(NULL, sizeof(struct pk_shm), PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	close((int)fd);
	if (p == MAP_FAILED)
		goto off;
	q = mmap(NULL, SEEN * sizeof(*seen), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	         -1, 0);
	if (q == MAP_FAILED || ((struct pk_shm *)p)->magic != PK_SHM_MAGIC ||
	    ((struct pk_shm *)p)->count != PK_SHM_SLOTS) {
		munmap(p, sizeof(struct pk_shm));
		goto off;
	}
	seen = q;
	shm = p;
	return;
off:
	magic = 0; /* every call the slow way */
}

/* ---- the wrappers ---- */

/* glibc's internal entry points, which its headers do not declare. */
EXPORT int __open_2(const char *path, int fl);
EXPORT int __open64_2(const char *path, int fl);
EXPORT int __openat_2(int dirfd, const char *path, int fl);
EXPORT int __openat64_2(int dirfd, const char *path, int fl);
EXPORT int __xstat(int ver, const char *path, struct stat *st);
EXPORT int __xstat64(int ver, const char *path, struct stat *st);
EXPORT int __lxstat(int ver, const char *path, struct stat *st);
EXPORT int __lxstat64(int ver, const char *path, struct stat *st);
EXPORT int __fxstat(int ver, int fd, struct stat *st);
EXPORT int __fxstat64(int ver, int fd, struct stat *st);
EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int fl);
EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat *st, int fl);

static long do_open(int dirfd, const char *path, int fl, mode_t mode)
{
	int nofollow;
	uint32_t f = pk_trace_open_flags((uint64_t)(unsigned)fl, &nofollow);

	/* Writes go the slow way: the tracer's stat before them tells an
	 * overwritten input from a new output. */
	if (!(f & (PK_TRACE_WRITES)) && note(dirfd, path, f, nofollow) == 0)
		return sys5(SYS_openat, dirfd, (long)path, fl, mode, 0);
	return slow(SYS_openat, dirfd, (long)path, fl, mode, 0);
}

static mode_t open_mode(int fl, va_list ap)
{
	return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

EXPORT int open(const char *path, int fl, ...)
{
	va_list ap;
	va_start(ap, fl);
	mode_t mode = open_mode(fl, ap);
	va_end(ap);
	return (int)done(do_open(AT_FDCWD, path, fl, mode));
}

EXPORT int open64(const char *path, int fl, ...)
{
	va_list ap;
	va_start(ap, fl);
	mode_t mode = open_mode(fl, ap);
	va_end(ap);
	return (int)done(do_open(AT_FDCWD, path, fl, mode));
}

EXPORT int openat(int dirfd, const char *path, int fl, ...)
{
	va_list ap;
	va_start(ap, fl);
	mode_t mode = open_mode(fl, ap);
	va_end(ap);
	return (int)done(do_open(dirfd, path, fl, mode));
}

EXPORT int openat64(int dirfd, const char *path, int fl, ...)
{
	va_list ap;
	va_start(ap, fl);
	mode_t mode = open_mode(fl, ap);
	va_end(ap);
	return (int)done(do_open(dirfd, path, fl, mode));
}

/* _FORTIFY_SOURCE's checked forms (no mode: O_CREAT is checked away). */
EXPORT int __open_2(const char *path, int fl)
{
	return (int)done(do_open(AT_FDCWD, path, fl, 0));
}

EXPORT int __open64_2(const char *path, int fl)
{
	return (int)done(do_open(AT_FDCWD, path, fl, 0));
}

EXPORT int __openat_2(int dirfd, const char *path, int fl)
{
	return (int)done(do_open(dirfd, path, fl, 0));
}

EXPORT int __openat64_2(int dirfd, const char *path, int fl)
{
	return (int)done(do_open(dirfd, path, fl, 0));
}

static long do_stat(int dirfd, const char *path, struct stat *st, int fl)
{
	if ((fl & AT_EMPTY_PATH) && path != NULL && path[0] == '\0') {
		/* fstat: the descriptor, no path looked up.  Counted, not recorded. */
		if (shm != NULL) {
			__atomic_add_fetch(&shm->seq, 1, __ATOMIC_RELAXED);
			return sys5(SYS_newfstatat, dirfd, (long)path, (long)st, fl, 0);
		}
		return slow(SYS_newfstatat, dirfd, (long)path, (long)st, fl, 0);
	}
	int nofollow = (fl & AT_SYMLINK_NOFOLLOW) != 0;
	if (note(dirfd, path, nofollow ? PK_TRACE_LSTAT : PK_TRACE_STAT, nofollow) == 0)
		return sys5(SYS_newfstatat, dirfd, (long)path, (long)st, fl, 0);
	return slow(SYS_newfstatat, dirfd, (long)path, (long)st, fl, 0);
}

EXPORT int stat(const char *path, struct stat *st)
{
	return (int)done(do_stat(AT_FDCWD, path, st, 0));
}

EXPORT int stat64(const char *path, struct stat64 *st)
{
	return (int)done(do_stat(AT_FDCWD, path, (struct stat *)(void *)st, 0));
}

EXPORT int lstat(const char *path, struct stat *st)
{
	return (int)done(do_stat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}

EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return (int)done(do_stat(AT_FDCWD, path, (struct stat *)(void *)st, AT_SYMLINK_NOFOLLOW));
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int fl)
{
	return (int)done(do_stat(dirfd, path, st, fl));
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int fl)
{
	return (int)done(do_stat(dirfd, path, (struct stat *)(void *)st, fl));
}

EXPORT int fstat(int fd, struct stat *st)
{
	return (int)done(do_stat(fd, "", st, AT_EMPTY_PATH));
}

EXPORT int fstat64(int fd, struct stat64 *st)
{
	return (int)done(do_stat(fd, "", (struct stat *)(void *)st, AT_EMPTY_PATH));
}

/* The versioned forms programs built against glibc before 2.33 call
 * (the version argument is the same struct on x86_64). */
EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return (int)done(do_stat(AT_FDCWD, path, st, 0));
}

EXPORT int __xstat64(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return (int)done(do_stat(AT_FDCWD, path, st, 0));
}

EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return (int)done(do_stat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}

EXPORT int __lxstat64(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return (int)done(do_stat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}

EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	(void)ver;
	return (int)done(do_stat(fd, "", st, AT_EMPTY_PATH));
}

EXPORT int __fxstat64(int ver, int fd, struct stat *st)
{
	(void)ver;
	return (int)done(do_stat(fd, "", st, AT_EMPTY_PATH));
}

EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int fl)
{
	(void)ver;
	return (int)done(do_stat(dirfd, path, st, fl));
}

EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat *st, int fl)
{
	(void)ver;
	return (int)done(do_stat(dirfd, path, st, fl));
}

EXPORT int access(const char *path, int mode)
{
	if (note(AT_FDCWD, path, PK_TRACE_STAT, 0) == 0)
		return (int)done(sys5(SYS_access, (long)path, mode, 0, 0, 0));
	return (int)done(slow(SYS_access, (long)path, mode, 0, 0, 0));
}

EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	if (note(AT_FDCWD, path, PK_TRACE_READLINK, 1) == 0)
		return done(sys5(SYS_readlink, (long)path, (long)buf, (long)size, 0, 0));
	return done(slow(SYS_readlink, (long)path, (long)buf, (long)size, 0, 0));
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	if (note(dirfd, path, PK_TRACE_READLINK, 1) == 0)
		return done(sys5(SYS_readlinkat, dirfd, (long)path, (long)buf, (long)size, 0));
	return done(slow(SYS_readlinkat, dirfd, (long)path, (long)buf, (long)size, 0));
}
