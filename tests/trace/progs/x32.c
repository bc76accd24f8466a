/* Makes an x32 system call (getpid with the x32 bit) from a 64-bit
 * process: prints whether the kernel ran it. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	long ret = syscall(0x40000000L | SYS_getpid);
	printf("x32: %s\n", ret > 0 ? "ran" : "refused");
	return 0;
}
