/* Asks for an io_uring by raw system call; prints the errno name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	char params[120];
	memset(params, 0, sizeof(params));
	long fd = syscall(SYS_io_uring_setup, 8, params);
	if (fd >= 0) {
		puts("io_uring_setup: ok");
		return 0;
	}
	puts(errno == ENOSYS ? "io_uring_setup: ENOSYS" : strerror(errno));
	return 0;
}
