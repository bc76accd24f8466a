/* fiu_nth.c: the fault-injection tests' preloaded helper (with libfiu's
 * fiu_posix_preload.so after it in LD_PRELOAD).
 *
 * In pickled's processes only (the program PK_FIU_BIN names, and the
 * processes it forks that do not exec another program), every failable
 * call goes through one libfiu external callback, which counts it in a
 * state file shared by the whole process tree and decides:
 *   PK_FIU_NTH=N             the Nth failable call fails, no other;
 *   PK_FIU_RUN=K             with PK_FIU_NTH: calls N to N+K-1 fail (a
 *                            fault followed by another: a wait, then the
 *                            check made when it failed);
 *   PK_FIU_ERRNO=E           failed calls set errno E (libfiu's wrappers
 *                            and FAIL below) rather than their own;
 *   PK_FIU_PROB=P PK_FIU_SEED=S  each call fails with probability P, drawn
 *                            from S and the call's number (fixed seeds give
 *                            the same faults for the same calls);
 *   neither                  nothing fails: the calls are only counted;
 *   PK_FIU_ONLY=POINT[,POINT] only the calls of those points are counted (and
 *                            so can fail): the regression tests' faults.
 *   PK_FIU_SKIP=FILE         "OFFSET SIZE" lines (hex, nm -S): functions of
 *                            pickled whose allocations are not failed;
 *   PK_FIU_WITHIN=FILE       the same lines: only the allocations of those
 *                            functions are counted (and so can fail).
 * A crash of pickled prints its stack to stderr (offsets in the binary, for
 * addr2line -e pickled), as the signal would kill it anyway.
 * The command pickled runs is another program: nothing is enabled in it.
 *
 * libfiu wraps open, read, write, close, fsync, rename, unlink, mmap,
 * malloc, fork, waitpid, poll, the stdio calls and more.  The *at calls,
 * flock, fstat, readdir64, mkdir and the others below are not in its list
 * but are on pickled's store path: they are wrapped here, as failure points
 * named in libfiu's way; so is openat2, which pickled calls through
 * syscall(2).
 *
 * The state file (PK_FIU_STATE) holds struct pk_fiu_state; the helper
 * keeps a shared flock on it in every process of the tree (the descriptor
 * is close-on-exec), so `flock -x STATE true` waits for a run's detached
 * children too.  Build: cc -shared -fPIC -o fiu_nth.so fiu_nth.c -lfiu -ldl */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <execinfo.h>
#include <signal.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Read by the scripts here with od: keep the layout (8-byte fields). */
struct pk_fiu_state {
	uint64_t calls;     /* failable calls made by the tree */
	uint64_t injected;  /* faults injected */
	char points[16][112]; /* the first 16 points that failed: "NAME PID" */
};

static struct pk_fiu_state *st;

/* The first field of struct open_how (linux/openat2.h), all we look at. */
struct open_how_prefix {
	uint64_t flags;
};
static uint64_t nth, seed, run = 1;
static int fail_errno;
static double prob;
static const char *only;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The loaded objects' address ranges: pickled's executable (with the
 * libraries it links statically), libfiu's and this helper (the wrappers
 * between a call and its caller), and the rest (libzstd, libc). */
enum { OTHER, EXE, FIU };
static struct range {
	uintptr_t lo, hi;
	int kind;
} ranges[256];
static int nranges;
static uintptr_t exe_base;

/* Functions of the executable whose allocations are not failed (offsets
 * and sizes, from PK_FIU_SKIP: hiredis's and libseccomp's, see
 * from_pickled), or the only ones that are (PK_FIU_WITHIN). */
struct funcs {
	struct skip {
		uintptr_t off, size;
	} f[1024];
	int n;
};
static struct funcs skips, within;

static int in_funcs(const struct funcs *fs, uintptr_t off)
{
	for (int j = 0; j < fs->n; j++)
		if (off >= fs->f[j].off && off < fs->f[j].off + fs->f[j].size)
			return 1;
	return 0;
}

static void load_funcs(const char *path, struct funcs *fs)
{
	char line[256];
	int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	size_t len = 0;
	static char buf[65536];
	ssize_t n;

	if (fd < 0)
		return;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	for (char *p = buf; *p != '\0' && fs->n < 1024;) {
		char *nl = strchr(p, '\n');
		size_t l = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = '\0';
			char *end;
			fs->f[fs->n].off = strtoull(line, &end, 16);
			fs->f[fs->n].size = strtoull(end, NULL, 16);
			if (fs->f[fs->n].size > 0)
				fs->n++;
		}
		p += l + (nl != NULL);
	}
}

static int add_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
	int kind = OTHER;

	(void)size;
	(void)ctx;
	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0') {
		kind = nranges == 0 ? EXE : OTHER;   /* the first is the program */
		if (kind == EXE)
			exe_base = info->dlpi_addr;
	}
	else if (strstr(info->dlpi_name, "fiu") != NULL)
		kind = FIU;
	for (int i = 0; i < info->dlpi_phnum && nranges < 256; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
		ranges[nranges].hi = ranges[nranges].lo + ph->p_memsz;
		ranges[nranges].kind = kind;
		nranges++;
	}
	return 0;
}

static int kind_of(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	for (int i = 0; i < nranges; i++)
		if (a >= ranges[i].lo && a < ranges[i].hi)
			return ranges[i].kind;
	return OTHER;
}

/* Is the failable call being decided made by pickled's own code?  The
 * first frame outside libfiu and this helper is its caller.  Calls that
 * libzstd makes (on its compression threads too) are not pickled's: a
 * failed allocation inside libzstd 1.5.4's multithreaded compressor
 * crashes it, in its own code. */
static int from_pickled(const char *name)
{
	void *frames[12];
	int n = backtrace(frames, 12);

	for (int i = 1; i < n; i++) {
		int k = kind_of(frames[i]);
		if (k == FIU)
			continue;
		if (k != EXE)
			return 0;
		/* An allocation by hiredis (linked in statically): hiredis 0.14
		 * aborts when one fails (its out-of-memory policy), or crashes
		 * further on, in its own code.  One by libseccomp 2.5.4 may
		 * make it loop for ever (pickled bounds it: lib/trace.c, but
		 * at a cost of seconds per fault). */
		uintptr_t off = (uintptr_t)frames[i] - exe_base;
		if (within.n > 0)
			return strncmp(name, "libc/", 5) == 0 && in_funcs(&within, off);
		return strncmp(name, "libc/", 5) != 0 || !in_funcs(&skips, off);
	}
	return 0;
}

/* Is name one of the comma-separated names in list? */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len + (end != NULL);
	}
	return 0;
}

static int decide(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	uint64_t i;
	int fail;

	(void)failnum;
	(void)flags;
	if (st == NULL || (only != NULL && !listed(only, name)) || !from_pickled(name))
		return 0;
	i = __atomic_add_fetch(&st->calls, 1, __ATOMIC_SEQ_CST);
	if (nth > 0)
		fail = i >= nth && i - nth < run;
	else
		fail = prob > 0 &&
		       (double)(splitmix64(seed ^ splitmix64(i)) >> 11) * 0x1p-53 < prob;
	if (fail) {
		*failinfo = (void *)(intptr_t)fail_errno;   /* 0: libfiu draws one */
		uint64_t k = __atomic_add_fetch(&st->injected, 1, __ATOMIC_SEQ_CST);
		if (k <= 16)
			snprintf(st->points[k - 1], sizeof(st->points[0]), "%s %ld", name,
			         (long)getpid());
	}
	return fail;
}

/* The wrapped calls libfiu leaves out: the real ones, found at start. */
static int (*r_openat64)(int, const char *, int, ...);
static int (*r_renameat)(int, const char *, int, const char *);
static int (*r_unlinkat)(int, const char *, int);
static int (*r_mkdirat)(int, const char *, mode_t);
static int (*r_mkdir)(const char *, mode_t);
static int (*r_flock)(int, int);
static int (*r_fstat64)(int, struct stat64 *);
static int (*r_fstatat64)(int, const char *, struct stat64 *, int);
static struct dirent64 *(*r_readdir64)(DIR *);
static int (*r_mkostemp64)(char *, int);
static int (*r_posix_memalign)(void **, size_t, size_t);
static int (*r_pipe2)(int[2], int);
static int (*r_fchmod)(int, mode_t);
static ssize_t (*r_readlinkat)(int, const char *, char *, size_t);
static off64_t (*r_lseek64)(int, off64_t, int);
static int (*r_dup2)(int, int);
static int (*r_fdatasync)(int);
static int (*r_close)(int);

/* The real f, looked up once (the constructor looks them all up first). */
#define REAL(f) ((void)(r_##f != NULL || resolve((void **)&r_##f, #f)), r_##f)
static void *resolve(void **slot, const char *name)
{
	*slot = dlsym(RTLD_NEXT, name);
	return *slot;
}

#define FAIL(point, e, ret)                                     \
	do {                                                    \
		if (fiu_fail(point)) {                          \
			errno = fail_errno != 0 ? fail_errno : (e); \
			return ret;                             \
		}                                               \
	} while (0)

int openat64(int dir, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	FAIL("posix/io/oc/openat", (flags & O_CREAT) ? ENOSPC : EIO, -1);
	return REAL(openat64)(dir, path, flags, mode);
}

int renameat(int od, const char *o, int nd, const char *n)
{
	FAIL("posix/io/dir/renameat", EIO, -1);
	return REAL(renameat)(od, o, nd, n);
}

int unlinkat(int d, const char *p, int f)
{
	FAIL("posix/io/dir/unlinkat", EIO, -1);
	return REAL(unlinkat)(d, p, f);
}

int mkdirat(int d, const char *p, mode_t m)
{
	FAIL("posix/io/dir/mkdirat", ENOSPC, -1);
	return REAL(mkdirat)(d, p, m);
}

int mkdir(const char *p, mode_t m)
{
	FAIL("posix/io/dir/mkdir", ENOSPC, -1);
	return REAL(mkdir)(p, m);
}

int flock(int fd, int op)
{
	FAIL("posix/io/lock/flock", ENOLCK, -1);
	return REAL(flock)(fd, op);
}

int fstat64(int fd, struct stat64 *sb)
{
	FAIL("posix/io/stat/fstat", EIO, -1);
	return REAL(fstat64)(fd, sb);
}

int fstatat64(int d, const char *p, struct stat64 *sb, int f)
{
	FAIL("posix/io/stat/fstatat", EIO, -1);
	return REAL(fstatat64)(d, p, sb, f);
}

struct dirent64 *readdir64(DIR *d)
{
	FAIL("posix/io/dir/readdir64", EIO, NULL);
	return REAL(readdir64)(d);
}

int mkostemp64(char *t, int f)
{
	FAIL("posix/io/oc/mkostemp", ENOSPC, -1);
	return REAL(mkostemp64)(t, f);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	if (fiu_fail("libc/mm/posix_memalign"))
		return ENOMEM;
	return REAL(posix_memalign)(p, a, n);
}

int pipe2(int fds[2], int f)
{
	FAIL("posix/io/oc/pipe2", EMFILE, -1);
	return REAL(pipe2)(fds, f);
}

int fchmod(int fd, mode_t m)
{
	FAIL("posix/io/stat/fchmod", EIO, -1);
	return REAL(fchmod)(fd, m);
}

ssize_t readlinkat(int d, const char *p, char *b, size_t n)
{
	FAIL("posix/io/stat/readlinkat", EIO, -1);
	return REAL(readlinkat)(d, p, b, n);
}

off64_t lseek64(int fd, off64_t off, int whence)
{
	FAIL("posix/io/rw/lseek", EIO, -1);
	return REAL(lseek64)(fd, off, whence);
}

int dup2(int a, int b)
{
	FAIL("posix/io/oc/dup2", EMFILE, -1);
	return REAL(dup2)(a, b);
}

int fdatasync(int fd)
{
	FAIL("posix/io/sync/fdatasync", EIO, -1);
	return REAL(fdatasync)(fd);
}

/* openat2 has no libc wrapper: pickled calls it through syscall(2), which
 * only this helper sees.  Other system calls pass through untouched. */
long syscall(long nr, ...)
{
	static long (*r_syscall)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (r_syscall == NULL)
		r_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
#ifdef SYS_openat2
	if (nr == SYS_openat2 && fiu_fail("posix/io/oc/openat2")) {
		errno = (a[2] != 0 && (((const struct open_how_prefix *)a[2])->flags & O_CREAT))
		                ? ENOSPC : EIO;
		return -1;
	}
#endif
	return r_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* close fails the Linux way: the descriptor is released all the same
 * (libfiu's close fails without closing, which Linux never does, and a
 * pipe's write end left open would hang a reader waiting for its end).
 * This helper comes first in LD_PRELOAD so that its close is the one
 * called; the real one is libc's. */
int close(int fd)
{
	int fail = fiu_fail("posix/io/oc/close");
	int r;

	if (r_close == NULL) {
		void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
		r_close = libc != NULL ? dlsym(libc, "close") : NULL;
		if (r_close == NULL)
			abort();
	}
	r = r_close(fd);
	if (fail && r == 0) {
		errno = EIO;
		return -1;
	}
	return r;
}

/* Is this process the program under test (not a command it runs)? */
static int is_target(void)
{
	const char *bin = getenv("PK_FIU_BIN");
	char self[PATH_MAX], want[PATH_MAX];
	ssize_t n;

	if (bin == NULL || realpath(bin, want) == NULL)
		return 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 0;
	self[n] = '\0';
	return strcmp(self, want) == 0;
}

/* Our own points, and libfiu's: the names its posix preload library holds
 * (read from the file, so that a libfiu with more wrappers gets them all
 * enabled).  Each is enabled by name, so the callback learns which one. */
static const char *const own_points[] = {
	"posix/io/oc/openat", "posix/io/oc/openat2", "posix/io/dir/renameat", "posix/io/dir/unlinkat",
	"posix/io/dir/mkdirat", "posix/io/dir/mkdir", "posix/io/lock/flock",
	"posix/io/stat/fstat", "posix/io/stat/fstatat", "posix/io/dir/readdir64",
	"posix/io/oc/mkostemp", "libc/mm/posix_memalign", "posix/io/oc/pipe2",
	"posix/io/stat/fchmod", "posix/io/stat/readlinkat", "posix/io/rw/lseek",
	"posix/io/oc/dup2", "posix/io/sync/fdatasync",
};

static int point_name(const char *s, size_t n)
{
	if (n < 6 || n > 64 ||
	    (strncmp(s, "posix/", 6) != 0 && strncmp(s, "libc/", 5) != 0 &&
	     strncmp(s, "linux/", 6) != 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '/' || s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int enable_points(void)
{
	const char *lib = getenv("PK_FIU_PRELOAD");
	struct stat64 sb;
	const char *p, *end;
	size_t count = 0;
	void *map;
	int fd;

	for (size_t i = 0; i < sizeof(own_points) / sizeof(own_points[0]); i++)
		fiu_enable_external(own_points[i], 1, NULL, 0, decide);
	if (lib == NULL)
		lib = "/usr/lib/fiu/fiu_posix_preload.so";
	if ((fd = REAL(openat64)(AT_FDCWD, lib, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (REAL(fstat64)(fd, &sb) < 0 ||
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	close(fd);
	/* The mapping stays: libfiu keeps the name pointers it is given. */
	for (p = map, end = p + sb.st_size; p < end;) {
		size_t n = strnlen(p, (size_t)(end - p));
		if (p + n < end && point_name(p, n) && fiu_enable_external(p, 1, NULL, 0, decide) == 0)
			count++;
		p += n + 1;
	}
	return count > 0 ? 0 : -1;
}

static void crashed(int sig)
{
	void *frames[64];
	int n = backtrace(frames, 64);

	backtrace_symbols_fd(frames, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

__attribute__((constructor)) static void pk_fiu_start(void)
{
	const char *path = getenv("PK_FIU_STATE"), *s;
	void *map;
	int fd;

	/* Resolve every real call now, before anything can fail. */
	(void)REAL(openat64), (void)REAL(renameat), (void)REAL(unlinkat);
	(void)REAL(mkdirat), (void)REAL(mkdir), (void)REAL(flock);
	(void)REAL(fstat64), (void)REAL(fstatat64), (void)REAL(readdir64);
	(void)REAL(mkostemp64), (void)REAL(posix_memalign), (void)REAL(pipe2);
	(void)REAL(fchmod), (void)REAL(readlinkat), (void)REAL(lseek64);
	(void)REAL(dup2), (void)REAL(fdatasync);
	close(-1);   /* finds libc's close */
	if (path == NULL || !is_target())
		return;
	fd = REAL(openat64)(AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	map = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || REAL(flock)(fd, LOCK_SH) < 0) {
		close(fd);
		return;
	}
	if ((s = getenv("PK_FIU_NTH")) != NULL)
		nth = strtoull(s, NULL, 10);
	if ((s = getenv("PK_FIU_RUN")) != NULL)
		run = strtoull(s, NULL, 10);
	if ((s = getenv("PK_FIU_ERRNO")) != NULL)
		fail_errno = atoi(s);
	if ((s = getenv("PK_FIU_PROB")) != NULL)
		prob = strtod(s, NULL);
	only = getenv("PK_FIU_ONLY");
	if ((s = getenv("PK_FIU_SEED")) != NULL)
		seed = strtoull(s, NULL, 10);
	fiu_init(0);
	st = map;
	{
		void *prime[1];
		backtrace(prime, 1);   /* loads what it needs now, not in a crash */
	}
	dl_iterate_phdr(add_object, NULL);
	load_funcs(getenv("PK_FIU_SKIP"), &skips);
	load_funcs(getenv("PK_FIU_WITHIN"), &within);
	signal(SIGSEGV, crashed);
	signal(SIGBUS, crashed);
	if (enable_points() < 0)
		abort();   /* no points: the test would pass vacuously */
}
