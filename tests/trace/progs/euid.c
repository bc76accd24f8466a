/* Prints the effective uid: installed setuid root, it shows whether the
 * setuid bit took effect. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("euid %d\n", (int)geteuid());
	return 0;
}
