/* deny ptrace|seccomp|seccomp-enosys COMMAND [ARG...]: runs COMMAND where
 * that system call fails with EPERM (ptrace, as in a container's default
 * profile), EINVAL (seccomp, as on a kernel without filters) or ENOSYS
 * (seccomp(2) unknown, as under valgrind: prctl(2) still works). */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int ptrace = strcmp(argv[1], "ptrace") == 0;
	int e = ptrace ? EPERM : strcmp(argv[1], "seccomp-enosys") == 0 ? ENOSYS : EINVAL;
	if (ctx == NULL ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)e),
	                     ptrace ? SCMP_SYS(ptrace) : SCMP_SYS(seccomp), 0) < 0 ||
	    seccomp_load(ctx) < 0) {
		fprintf(stderr, "deny: cannot load the filter\n");
		return 2;
	}
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
