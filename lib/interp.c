/* interp.c: finding the script an interpreter runs, from its arguments. */
#include "interp.h"

#include <string.h>
#include <sys/stat.h>

/* What the options of one interpreter family mean for finding the script:
 * letters of a short option cluster that give code instead of a script
 * (-c, -e), letters that take the next word as their value when last in
 * the cluster (-W arg), and long options of each kind. */
struct family {
	const char *const *names; /* exact names, or prefixes ending in '*' */
	const char *code;
	const char *value;
	const char *const *long_code;
	const char *const *long_value;
	int plus; /* +o opt too (shells) */
};

static const char *const python_names[] = { "python*", "pypy*", NULL };
static const char *const perl_names[] = { "perl*", NULL };
static const char *const ruby_names[] = { "ruby*", NULL };
static const char *const node_names[] = { "node", "nodejs", NULL };
static const char *const sh_names[] = { "sh", "bash", "dash", "zsh", "ksh", "mksh", NULL };
static const char *const node_long_code[] = { "--eval", "--print", NULL };
static const char *const node_long_value[] = { "--require", "--loader", "--import",
	                                       "--experimental-loader", NULL };
static const char *const sh_long_value[] = { "--rcfile", "--init-file", NULL };
static const char *const none[] = { NULL };

static const struct family families[] = {
	{ python_names, "cm", "WX", none, none, 0 },
	{ perl_names, "eE", "", none, none, 0 },
	{ ruby_names, "e", "ICEr", none, none, 0 },
	{ node_names, "ep", "r", node_long_code, node_long_value, 0 },
	{ sh_names, "cs", "oO", none, sh_long_value, 1 },
};

static int name_matches(const char *name, const char *pat)
{
	size_t n = strlen(pat);

	if (n > 0 && pat[n - 1] == '*')
		return strncmp(name, pat, n - 1) == 0;
	return strcmp(name, pat) == 0;
}

static int in_list(const char *w, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(w, *list) == 0)
			return 1;
	return 0;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static const struct family *family_of(const char *prog)
{
	const char *b = base(prog);

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		for (const char *const *n = families[i].names; *n != NULL; n++)
			if (name_matches(b, *n))
				return &families[i];
	return NULL;
}

/* The first word after env's options and NAME=VALUE assignments. */
static size_t skip_env(char *const *argv, size_t argc, size_t i)
{
	while (i < argc) {
		const char *w = argv[i];
		if (strcmp(w, "--") == 0)
			return i + 1;
		if (strcmp(w, "-u") == 0 || strcmp(w, "-C") == 0 || strcmp(w, "--unset") == 0 ||
		    strcmp(w, "--chdir") == 0)
			i += 2;
		else if (w[0] == '-' || strchr(w, '=') != NULL)
			i++;
		else
			break;
	}
	return i;
}

long pk_interp_script(char *const *argv, size_t argc, size_t *interp)
{
	const struct family *f;
	size_t i = 0;

	if (argc == 0)
		return -1;
	if (strcmp(base(argv[0]), "env") == 0)
		i = skip_env(argv, argc, 1);
	if (i >= argc || (f = family_of(argv[i])) == NULL)
		return -1;
	*interp = i;
	for (i++; i < argc; i++) {
		const char *w = argv[i];

		if (strcmp(w, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(w, "-") == 0)
			return -1; /* the script on stdin */
		if (w[0] == '-' && w[1] == '-') {
			const char *eq = strchr(w, '=');
			char name[64];
			size_t n = eq ? (size_t)(eq - w) : strlen(w);
			if (n >= sizeof(name))
				continue;
			memcpy(name, w, n);
			name[n] = '\0';
			if (in_list(name, f->long_code))
				return -1;
			if (eq == NULL && in_list(name, f->long_value))
				i++;
			continue;
		}
		if (w[0] != '-' && !(w[0] == '+' && f->plus))
			break;
		/* A cluster of short options: -uc, -ne, -o pipefail. */
		for (const char *c = w + 1; *c != '\0'; c++) {
			if (strchr(f->code, *c) != NULL)
				return -1;
			if (strchr(f->value, *c) != NULL) {
				if (c[1] == '\0')
					i++; /* its value is the next word */
				break;
			}
		}
	}
	return i < argc ? (long)i : -1;
}

int pk_interp_script_keyed(const pk_key_parts *p, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	for (size_t i = 0; i < p->ninputs; i++)
		if (p->inputs[i].present && p->inputs[i].dev == (uint64_t)st.st_dev &&
		    p->inputs[i].ino == (uint64_t)st.st_ino)
			return 1;
	return 0;
}
