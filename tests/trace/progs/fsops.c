/* The file system calls the tracer decodes, on paths under DIR, relative
 * and absolute, through dirfds and after chdir/fchdir. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0) {
		}
		close(fd);
	}
}

static void get(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0) {
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct stat st;
	char buf[256];
	if (argc < 2 || chdir(argv[1]) != 0)
		return 2;
	get("in");                                 /* relative to the cwd */
	mkdir("d", 0755);
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	int fd = openat(dfd, "f", O_WRONLY | O_CREAT, 0644);
	close(fd);
	DIR *dir = fdopendir(dfd);                 /* getdents on d */
	while (readdir(dir) != NULL)
		;
	rename("d/f", "d/g");
	fd = openat(dfd, "g", O_RDONLY);           /* through the dirfd */
	close(fd);
	symlink("g", "d/l");
	ssize_t n = readlink("d/l", buf, sizeof(buf));
	(void)n;
	lstat("d/l", &st);
	link("d/g", "d/h");
	unlink("d/h");
	truncate("in2", 0);
	get("rw");                                 /* read, then overwritten */
	put("rw", "new\n");
	put("wr", "mine\n");                       /* written, then read back */
	get("wr");
	access("nope", R_OK);
	fstatat(AT_FDCWD, "./d/../in", &st, 0);    /* ".." kept as given */
	struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
	fd = (int)syscall(SYS_openat2, AT_FDCWD, "in3", &how, sizeof(how));
	close(fd);
	fd = open("d", O_RDONLY | O_DIRECTORY);
	fchdir(fd);
	stat("g", &st);                            /* relative to d now */
	rmdir("/nonexistent-dir-of-trace-test");
	closedir(dir);
	return 0;
}
