/* Opens DIR/t0..t7 for reading, each from its own thread. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static const char *dir;

static void *opener(void *arg)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/t%ld", dir, (long)arg);
	int fd = open(path, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[8];
	if (argc < 2)
		return 2;
	dir = argv[1];
	for (long i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, opener, (void *)i);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	return 0;
}
