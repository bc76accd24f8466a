/* statloop.c: stats every file of a folder, rounds times: the cost of one
 * stat call, timed against a run of 0 rounds (bench/traced.sh). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	long rounds;

	if (argc != 3 || (d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: statloop DIR ROUNDS\n");
		return 2;
	}
	rounds = strtol(argv[2], NULL, 10);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((names = realloc(names, cap * sizeof(*names))) == NULL)
				return 1;
		}
		size_t len = strlen(argv[1]) + strlen(de->d_name) + 2;
		if ((names[n] = malloc(len)) == NULL)
			return 1;
		snprintf(names[n++], len, "%s/%s", argv[1], de->d_name);
	}
	closedir(d);
	for (long r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++)
			if (stat(names[i], &st) < 0)
				return 1;
	return 0;
}
