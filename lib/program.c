/* program.c: PATH lookup and the program's part of the key. */
#include "program.h"

#include "inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_file(const char *path, int *eacces)
{
	struct stat st;

	if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
		return -1;
	if (access(path, X_OK) < 0) {
		*eacces = 1;
		return -1;
	}
	return 0;
}

/* The working directory before a relative path; rel itself when there is
 * none (the directory was removed).  Takes rel; NULL only when out of
 * memory. */
static char *absolute(char *rel)
{
	const char *r = rel;
	char *cwd, *abs;
	size_t len;

	if (rel[0] == '/' || (cwd = getcwd(NULL, 0)) == NULL)
		return rel;
	while (r[0] == '.' && r[1] == '/')
		r += 2;
	len = strlen(cwd) + strlen(r) + 2;
	if ((abs = malloc(len)) != NULL)
		snprintf(abs, len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, r);
	free(cwd);
	free(rel);
	return abs;
}

int pk_program_resolve(const char *name, const char *path_env, char **path, pk_error *err)
{
	int eacces = 0;
	char def[256];
	const char *p;
	size_t nlen = strlen(name);

	if (nlen == 0)
		return pk_error_set(err, ENOENT, "%s", name);
	if (strchr(name, '/') != NULL) {
		struct stat st;
		if (stat(name, &st) < 0)
			return pk_error_set(err,
			                    errno == ENOENT || errno == ENOTDIR ? ENOENT : errno,
			                    "%s", name);
		if (S_ISDIR(st.st_mode) || access(name, X_OK) < 0)
			return pk_error_set(err, EACCES, "%s", name);
		if ((*path = strdup(name)) == NULL || (*path = absolute(*path)) == NULL)
			return pk_error_set(err, ENOMEM, "%s", name);
		return 0;
	}
	if (path_env == NULL) {
		size_t n = confstr(_CS_PATH, def, sizeof(def));
		if (n == 0 || n > sizeof(def))
			strcpy(def, "/bin:/usr/bin");
		path_env = def;
	}
	for (p = path_env;; p++) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		char *cand = malloc(dlen + nlen + 3);

		if (cand == NULL)
			return pk_error_set(err, ENOMEM, "%s", name);
		/* An empty PATH element means the current directory. */
		if (dlen == 0) {
			memcpy(cand, "./", 2);
			memcpy(cand + 2, name, nlen + 1);
		} else {
			memcpy(cand, p, dlen);
			cand[dlen] = '/';
			memcpy(cand + dlen + 1, name, nlen + 1);
		}
		if (check_file(cand, &eacces) == 0) {
			if ((*path = absolute(cand)) == NULL)
				return pk_error_set(err, ENOMEM, "%s", name);
			return 0;
		}
		free(cand);
		if (end == NULL)
			break;
		p = end;
	}
	return pk_error_set(err, eacces ? EACCES : ENOENT, "%s", name);
}

int pk_program_describe(pk_key_parts *parts, const char *statdir, pk_error *err)
{
	struct stat st;

	if (parts->program_check == PK_PROGRAM_NONE || parts->program == NULL)
		return 0;
	if (parts->program_check == PK_PROGRAM_CONTENT) {
		int r = pk_hash_file(statdir, parts->program, parts->program_hash, err);
		return r == 0 ? 0 : (r > 0 ? pk_error_set(err, ENOENT, "%s", parts->program) : -1);
	}
	if (stat(parts->program, &st) < 0)
		return pk_error_set(err, errno, "%s", parts->program);
	parts->program_size = (uint64_t)st.st_size;
	parts->program_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}
