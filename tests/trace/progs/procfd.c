/* Opens FILE with O_PATH (a lookup), then reads it through
 * /proc/self/fd/N: the read must be recorded on FILE. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char p[64], buf[16];
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_PATH);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	int r = open(p, O_RDONLY);
	ssize_t n = read(r, buf, sizeof(buf));
	printf("read %zd\n", n);
	return 0;
}
