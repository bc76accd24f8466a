/* Makes a 32-bit system call (getpid, number 20) through int 0x80 from a
 * 64-bit process, then exits 0. */
#include <stdio.h>

int main(void)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	printf("int 0x80: %s\n", ret > 0 ? "ran" : "failed");
	return 0;
}
