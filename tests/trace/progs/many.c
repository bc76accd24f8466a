/* many N DIR [M]: stats DIR/n0 .. DIR/n(M-1) in turn, N times in all
 * (M defaults to N): distinct paths, or a bounded set seen again. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	struct stat st;
	char path[4096];
	if (argc < 3)
		return 2;
	long n = atol(argv[1]), m = argc > 3 ? atol(argv[3]) : n;
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/n%ld", argv[2], i % m);
		stat(path, &st);
	}
	return 0;
}
