/* Built with cc -static: reads DIR/in, looks for DIR/missing, writes
 * DIR/out, from a binary without a dynamic loader. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096], buf[64];
	struct stat st;
	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/in", argv[1]);
	int fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
		return 1;
	close(fd);
	snprintf(path, sizeof(path), "%s/missing", argv[1]);
	if (stat(path, &st) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/out", argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "x\n", 2) != 2)
		return 1;
	return close(fd) != 0;
}
