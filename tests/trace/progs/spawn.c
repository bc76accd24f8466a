/* Runs cat on DIR/spawned through posix_spawn and on DIR/vforked through
 * vfork and execve, then reads DIR/after itself. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char a[4096], b[4096], c[4096];
	pid_t pid;
	int st;
	if (argc < 3)
		return 2;
	snprintf(a, sizeof(a), "%s/spawned", argv[1]);
	snprintf(b, sizeof(b), "%s/vforked", argv[1]);
	snprintf(c, sizeof(c), "%s/after", argv[1]);
	char *av1[] = { "cat", a, NULL };
	if (posix_spawn(&pid, argv[2], NULL, NULL, av1, environ) != 0)
		return 1;
	waitpid(pid, &st, 0);
	char *av2[] = { "cat", b, NULL };
	pid = vfork();
	if (pid == 0) {
		execve(argv[2], av2, environ);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	int fd = open(c, O_RDONLY);
	return fd < 0;
}
