/* trace_calls.c: what one watched system call does to which path.  The
 * tracer reads the call's number and arguments at its seccomp stop
 * (PTRACE_GET_SYSCALL_INFO), its strings with process_vm_readv, and
 * resolves relative paths as the kernel would: against the calling
 * thread's cwd (/proc/TID/cwd) or its dirfd (/proc/TID/fd/N). */
#include "trace_calls.h"

#include "trace_path.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#define X32_SYSCALL_BIT 0x40000000u
#define PAGE 4096u

/* Copies up to len bytes of the tracee's memory at addr into buf, without
 * crossing into a page it does not have: process_vm_readv stops at the
 * first iovec it cannot read, so each remote iovec is one page.  Returns
 * the bytes read, or -1 with errno set. */
static ssize_t peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote[3];
	int n = 0;
	uint64_t a = addr;
	size_t left = len;

	while (left > 0 && n < 3) {
		size_t chunk = PAGE - (size_t)(a % PAGE);
		if (chunk > left)
			chunk = left;
		remote[n].iov_base = (void *)(uintptr_t)a;
		remote[n].iov_len = chunk;
		n++;
		a += chunk;
		left -= chunk;
	}
	return process_vm_readv(pid, &local, 1, remote, (unsigned long)n, 0);
}

/* Reads a NUL-terminated string of at most PATH_MAX bytes.  Returns its
 * length, or -1 when it cannot be read (the call itself then fails with
 * EFAULT or ENAMETOOLONG, and looks at nothing). */
static ssize_t peek_string(struct trace_table *t, pid_t pid, uint64_t addr, char *buf)
{
	ssize_t n = peek(pid, addr, buf, PATH_MAX);

	if (n < 0) {
		/* EFAULT is the caller's bad pointer; anything else means the
		 * tracer could not look, and the call went unseen. */
		if (errno != EFAULT && errno != ESRCH)
			trace_table_fail(t, PK_TRACE_INCOMPLETE,
			                 "cannot read a path in process %d: %s", (int)pid,
			                 strerror(errno));
		return -1;
	}
	char *nul = memchr(buf, '\0', (size_t)n);
	return nul != NULL ? nul - buf : -1;
}

/* Reads the link /proc/PID/<name> (cwd, exe, fd/N) into buf.  Returns
 * its length, or -1 when it is not a path (gone, or a socket, pipe or
 * anonymous inode). */
static ssize_t proc_link(pid_t pid, const char *name, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/%s", (int)pid, name);
	n = readlink(link, buf, size - 1);
	if (n <= 0 || buf[0] != '/')
		return -1;
	buf[n] = '\0';
	return n;
}

/* The directory a relative path of pid starts from: its cwd, or dirfd.
 * Returns its length, or -1 (a bad dirfd: the call fails with EBADF or
 * ENOTDIR and looks at nothing). */
static ssize_t base_dir(pid_t pid, int dirfd, char *buf, size_t size)
{
	char name[32];

	if (dirfd == AT_FDCWD)
		return proc_link(pid, "cwd", buf, size);
	snprintf(name, sizeof(name), "fd/%d", dirfd);
	return proc_link(pid, name, buf, size);
}

/* Records flags on the path at addr, relative to dirfd. */
static void on_path(struct trace_table *t, pid_t pid, int dirfd, uint64_t addr, uint32_t flags,
                    int nofollow)
{
	char path[PATH_MAX + 1], base[PATH_MAX + 1], full[2 * PATH_MAX + 2];
	ssize_t n, len;

	if ((n = peek_string(t, pid, addr, path)) < 0)
		return;
	if (n == 0)
		return; /* "" is ENOENT, or with AT_EMPTY_PATH the fd itself */
	if (path[0] == '/')
		base[0] = '\0';
	else if (base_dir(pid, dirfd, base, sizeof(base)) < 0)
		return;
	if ((len = pk_trace_join(base, path, full, sizeof(full))) < 0)
		return;
	if (pk_trace_proc_fd(full, (long)pid, base, sizeof(base))) {
		/* The descriptor's file, which an O_PATH open only looked up. */
		if ((len = readlink(base, full, sizeof(full) - 1)) <= 0 || full[0] != '/')
			return;
		full[len] = '\0';
	}
	trace_table_add(t, t->seq, full, (size_t)len, flags, nofollow, NULL);
}

/* Records flags on what descriptor fd of pid names. */
static void on_fd(struct trace_table *t, pid_t pid, int fd, uint32_t flags)
{
	char path[PATH_MAX + 1];
	ssize_t n = base_dir(pid, fd, path, sizeof(path));

	if (n > 0)
		trace_table_add(t, t->seq, path, (size_t)n, flags, 0, NULL);
}

/* A path with *at flags: "" with AT_EMPTY_PATH is the descriptor itself
 * (fstat, fexecve), which adds nothing new unless want_fd. */
static void on_at(struct trace_table *t, pid_t pid, int dirfd, uint64_t addr, uint32_t flags,
                  uint64_t at_flags, int want_fd)
{
	int nofollow = (at_flags & AT_SYMLINK_NOFOLLOW) != 0;

	if (nofollow && (flags & PK_TRACE_STAT))
		flags = (flags & ~(uint32_t)PK_TRACE_STAT) | PK_TRACE_LSTAT;
	if (at_flags & AT_EMPTY_PATH) {
		char c;
		if (peek(pid, addr, &c, 1) == 1 && c == '\0') {
			if (want_fd)
				on_fd(t, pid, dirfd, flags);
			return;
		}
	}
	on_path(t, pid, dirfd, addr, flags, nofollow);
}

static void on_open(struct trace_table *t, pid_t pid, int dirfd, uint64_t addr, uint64_t fl)
{
	int nofollow;
	uint32_t f = pk_trace_open_flags(fl, &nofollow);

	on_path(t, pid, dirfd, addr, f, nofollow);
}

static void on_openat2(struct trace_table *t, pid_t pid, int dirfd, uint64_t addr,
                       uint64_t how_addr, uint64_t how_size)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	if (how_size < sizeof(how) ||
	    peek(pid, how_addr, &how, sizeof(how)) != (ssize_t)sizeof(how))
		return; /* EINVAL or EFAULT: nothing opened */
	if (how.resolve & RESOLVE_IN_ROOT) {
		/* Absolute paths and ".." stay inside dirfd: resolve the path
		 * against it as if relative. */
		char path[PATH_MAX + 1], base[PATH_MAX + 1], full[2 * PATH_MAX + 2];
		ssize_t len;
		int nofollow;
		uint32_t f = pk_trace_open_flags(how.flags, &nofollow);
		if (peek_string(t, pid, addr, path) <= 0 ||
		    base_dir(pid, dirfd, base, sizeof(base)) < 0 ||
		    (len = pk_trace_join(base, path, full, sizeof(full))) < 0)
			return;
		trace_table_add(t, t->seq, full, (size_t)len, f, nofollow, NULL);
		return;
	}
	on_open(t, pid, dirfd, addr, how.flags);
}

/* connect: a peer that is neither a Unix socket nor this machine. */
static void on_connect(struct trace_table *t, pid_t pid, uint64_t addr, uint64_t len)
{
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN], peer[sizeof(((pk_trace_peer *)0)->addr)];
	size_t n = len < sizeof(ss) ? (size_t)len : sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (n < sizeof(sa_family_t) || peek(pid, addr, &ss, n) != (ssize_t)n)
		return;
	if (ss.ss_family == AF_INET && n >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		uint32_t a = ntohl(in->sin_addr.s_addr);
		if ((a >> 24) == 127 || a == INADDR_ANY) /* 0.0.0.0 is this host */
			return;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(peer, sizeof(peer), "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6 && n >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		const struct in6_addr *a = &in6->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
		    (IN6_IS_ADDR_V4MAPPED(a) &&
		     (a->s6_addr[12] == 127 ||
		      (a->s6_addr[12] | a->s6_addr[13] | a->s6_addr[14] | a->s6_addr[15]) == 0)))
			return;
		inet_ntop(AF_INET6, a, host, sizeof(host));
		snprintf(peer, sizeof(peer), "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		return; /* AF_UNIX, AF_UNSPEC (a UDP disconnect), netlink... */
	}
	trace_table_peer(t, peer);
}
/* What a call that changes what paths mean did, for the reason a trace is
 * incomplete; NULL when it changed nothing of the kind (an unshare of
 * other namespaces). */
static const char *unseen_change(long nr, uint64_t arg0)
{
	switch (nr) {
	case SYS_chroot:
	case SYS_pivot_root: return "changed its root directory";
	case SYS_open_by_handle_at: return "opened a file by handle";
	case SYS_setns: return "entered another namespace";
	case SYS_unshare:
		return arg0 & (CLONE_NEWNS | CLONE_NEWUSER) ? "left its mount namespace" : NULL;
	default: return "changed (or tried to change) its mounts";
	}
}

int trace_call(struct trace_table *t, pid_t pid)
{
	struct __ptrace_syscall_info si;
	const uint64_t *a;
	int d0, d2;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(si), &si) < 0)
		return -1;
	trace_table_next(t);
	t->stops++;
	if (si.op != PTRACE_SYSCALL_INFO_SECCOMP) {
		trace_table_fail(t, PK_TRACE_INCOMPLETE, "an unexpected stop in process %d",
		                 (int)pid);
		return 0;
	}
	if (si.arch == AUDIT_ARCH_X86_64 && (si.seccomp.nr & X32_SYSCALL_BIT)) {
		trace_table_fail(t, PK_TRACE_INCOMPLETE, "an x32 system call in process %d",
		                 (int)pid);
		return 0;
	}
	if (si.arch != AUDIT_ARCH_X86_64 || si.seccomp.ret_data == TRACE_TAG_BADARCH) {
		trace_table_fail(t, PK_TRACE_INCOMPLETE,
		                 si.arch == AUDIT_ARCH_I386
		                         ? "a 32-bit system call (int 0x80) in process %d"
		                         : "a system call of another ABI in process %d",
		                 (int)pid);
		return 0;
	}
	a = si.seccomp.args;
	d0 = (int)a[0];
	d2 = (int)a[2];
	switch (si.seccomp.nr) {
	case SYS_open: on_open(t, pid, AT_FDCWD, a[0], a[1]); break;
	case SYS_openat: on_open(t, pid, d0, a[1], a[2]); break;
	case SYS_openat2: on_openat2(t, pid, d0, a[1], a[2], a[3]); break;
	case SYS_creat:
		on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_WRITE | PK_TRACE_CREATE | PK_TRACE_TRUNC,
		        0);
		break;
	case SYS_stat:
	case SYS_access: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_STAT, 0); break;
	case SYS_lstat: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_LSTAT, 1); break;
	case SYS_newfstatat: on_at(t, pid, d0, a[1], PK_TRACE_STAT, a[3], 0); break;
	case SYS_statx: on_at(t, pid, d0, a[1], PK_TRACE_STAT, a[2], 0); break;
	case SYS_faccessat: on_at(t, pid, d0, a[1], PK_TRACE_STAT, 0, 0); break;
	case SYS_faccessat2: on_at(t, pid, d0, a[1], PK_TRACE_STAT, a[3], 0); break;
	/* Whether a path is there (libselinux asks statfs("/selinux")). */
	case SYS_statfs: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_STAT, 0); break;
	case SYS_readlink: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_READLINK, 1); break;
	case SYS_readlinkat:
		on_at(t, pid, d0, a[1], PK_TRACE_READLINK, AT_SYMLINK_NOFOLLOW, 0);
		break;
	case SYS_execve: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_EXEC, 0); break;
	case SYS_execveat: on_at(t, pid, d0, a[1], PK_TRACE_EXEC, a[4], 1); break;
	case SYS_chdir: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_CHDIR, 0); break;
	case SYS_fchdir: on_fd(t, pid, d0, PK_TRACE_CHDIR); break;
	case SYS_getdents:
	case SYS_getdents64: on_fd(t, pid, d0, PK_TRACE_LIST); break;
	case SYS_rename:
		on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_RENAME_FROM, 1);
		on_path(t, pid, AT_FDCWD, a[1], PK_TRACE_RENAME_TO, 1);
		break;
	case SYS_renameat:
	case SYS_renameat2: {
		uint32_t x = si.seccomp.nr == SYS_renameat2 && (a[4] & RENAME_EXCHANGE)
		                     ? PK_TRACE_RENAME_FROM | PK_TRACE_RENAME_TO
		                     : 0;
		on_path(t, pid, d0, a[1], PK_TRACE_RENAME_FROM | x, 1);
		on_path(t, pid, d2, a[3], PK_TRACE_RENAME_TO | x, 1);
		break;
	}
	case SYS_link:
		on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_LOOKUP, 1);
		on_path(t, pid, AT_FDCWD, a[1], PK_TRACE_LINK_TO, 1);
		break;
	case SYS_linkat:
		on_at(t, pid, d0, a[1], PK_TRACE_LOOKUP,
		      (a[4] & AT_EMPTY_PATH) |
		              ((a[4] & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW),
		      1);
		on_path(t, pid, d2, a[3], PK_TRACE_LINK_TO, 1);
		break;
	case SYS_symlink: on_path(t, pid, AT_FDCWD, a[1], PK_TRACE_LINK_TO, 1); break;
	case SYS_symlinkat: on_path(t, pid, (int)a[1], a[2], PK_TRACE_LINK_TO, 1); break;
	case SYS_unlink:
	case SYS_rmdir: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_UNLINK, 1); break;
	case SYS_unlinkat: on_path(t, pid, d0, a[1], PK_TRACE_UNLINK, 1); break;
	case SYS_mkdir: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_MKDIR, 1); break;
	case SYS_mkdirat: on_path(t, pid, d0, a[1], PK_TRACE_MKDIR, 1); break;
	case SYS_mknod: on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_CREATE, 1); break;
	case SYS_mknodat: on_path(t, pid, d0, a[1], PK_TRACE_CREATE, 1); break;
	case SYS_truncate:
		on_path(t, pid, AT_FDCWD, a[0], PK_TRACE_WRITE | PK_TRACE_TRUNC, 0);
		break;
	case SYS_connect: on_connect(t, pid, a[1], a[2]); break;
	case SYS_chroot:
	case SYS_pivot_root:
	case SYS_open_by_handle_at:
	/* After these a path may name another file than the one the same
	 * path names for the next run. */
	case SYS_mount:
	case SYS_umount2:
	case SYS_move_mount:
	case SYS_mount_setattr:
	case SYS_setns:
	case SYS_unshare: {
		const char *what = unseen_change(si.seccomp.nr, a[0]);
		if (what != NULL)
			trace_table_fail(t, PK_TRACE_INCOMPLETE, "process %d %s", (int)pid, what);
		break;
	}
	default: break;
	}
	return 0;
}

void trace_exec_done(struct trace_table *t, pid_t pid)
{
	/* The program the kernel ran: for a #! script, its interpreter, which
	 * no system call of the tree names. */
	char path[PATH_MAX + 1];
	ssize_t n = proc_link(pid, "exe", path, sizeof(path));

	if (n > 0)
		trace_table_add(t, t->seq, path, (size_t)n, PK_TRACE_EXEC, 0, NULL);
}

const int trace_watched[] = {
	SYS_open,          SYS_openat,
	SYS_openat2,       SYS_creat,
	SYS_stat,          SYS_access,
	SYS_lstat,         SYS_newfstatat,
	SYS_statx,         SYS_faccessat,
	SYS_faccessat2,    SYS_readlink,
	SYS_readlinkat,    SYS_execve,
	SYS_execveat,      SYS_chdir,
	SYS_fchdir,        SYS_getdents,
	SYS_getdents64,    SYS_rename,
	SYS_renameat,      SYS_renameat2,
	SYS_link,          SYS_linkat,
	SYS_symlink,       SYS_symlinkat,
	SYS_unlink,        SYS_rmdir,
	SYS_unlinkat,      SYS_mkdir,
	SYS_mkdirat,       SYS_mknod,
	SYS_mknodat,       SYS_truncate,
	SYS_connect,       SYS_chroot,
	SYS_pivot_root,    SYS_open_by_handle_at,
	SYS_statfs,        SYS_mount,
	SYS_umount2,       SYS_move_mount,
	SYS_mount_setattr, SYS_setns,
	SYS_unshare,
};
const size_t trace_nwatched = sizeof(trace_watched) / sizeof(trace_watched[0]);
