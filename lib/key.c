/* key.c: the key's encoding and digest, and environment selection. */
#include "key.h"

#include "bytes.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* Bump when the encoding changes: old entries then simply miss. */
#define KEY_VERSION 1

enum {
	T_ARG = 1,
	T_PROGRAM,
	T_PROGRAM_SIZE,
	T_PROGRAM_MTIME,
	T_PROGRAM_HASH,
	T_INPUT,
	T_INPUT_ABSENT,
	T_INPUT_HASH,
	T_ENV,
	T_ENV_UNSET,
	T_ENV_VALUE,
	T_CWD,
	T_STDIN,
	T_EXTRA,
	T_OUTPUT,
	T_CACHE_FAILURES,
	T_ARGC,
	T_CHECK,
};

static void put_u64(XXH3_state_t *st, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	XXH3_128bits_update(st, b, sizeof(b));
}

static void put_field(XXH3_state_t *st, int tag, const void *data, size_t len)
{
	unsigned char t = (unsigned char)tag;
	XXH3_128bits_update(st, &t, 1);
	put_u64(st, len);
	XXH3_128bits_update(st, data, len);
}

static void put_str(XXH3_state_t *st, int tag, const char *s)
{
	put_field(st, tag, s, strlen(s));
}

static void put_num(XXH3_state_t *st, int tag, uint64_t v)
{
	unsigned char t = (unsigned char)tag;
	XXH3_128bits_update(st, &t, 1);
	put_u64(st, v);
}

void pk_key_compute(const pk_key_parts *p, pk_key *key)
{
	XXH3_state_t st;
	XXH128_canonical_t c;
	static const char magic[] = "pickled-key";

	XXH3_128bits_reset(&st);
	XXH3_128bits_update(&st, magic, sizeof(magic));
	put_u64(&st, KEY_VERSION);
	put_num(&st, T_ARGC, p->argc);
	for (size_t i = 0; i < p->argc; i++)
		put_str(&st, T_ARG, p->argv[i]);
	put_num(&st, T_CHECK, (uint64_t)p->program_check);
	if (p->program_check != PK_PROGRAM_NONE && p->program != NULL) {
		put_str(&st, T_PROGRAM, p->program);
		if (p->program_check == PK_PROGRAM_MTIME) {
			put_num(&st, T_PROGRAM_SIZE, p->program_size);
			put_num(&st, T_PROGRAM_MTIME, (uint64_t)p->program_mtime_ns);
		} else {
			put_field(&st, T_PROGRAM_HASH, p->program_hash, 16);
		}
	}
	for (size_t i = 0; i < p->ninputs; i++) {
		put_str(&st, T_INPUT, p->inputs[i].path);
		if (p->inputs[i].present)
			put_field(&st, T_INPUT_HASH, p->inputs[i].hash, 16);
		else
			put_num(&st, T_INPUT_ABSENT, 0);
	}
	for (size_t i = 0; i < p->nenv; i++) {
		put_str(&st, T_ENV, p->env[i].name);
		if (p->env[i].value != NULL)
			put_str(&st, T_ENV_VALUE, p->env[i].value);
		else
			put_num(&st, T_ENV_UNSET, 0);
	}
	if (p->cwd != NULL)
		put_str(&st, T_CWD, p->cwd);
	if (p->has_stdin)
		put_field(&st, T_STDIN, p->stdin_hash, 16);
	if (p->extra != NULL)
		put_str(&st, T_EXTRA, p->extra);
	for (size_t i = 0; i < p->noutputs; i++)
		put_str(&st, T_OUTPUT, p->outputs[i]);
	put_num(&st, T_CACHE_FAILURES, p->cache_failures != 0);

	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
	memcpy(key->bytes, c.digest, sizeof(key->bytes));
}

void pk_key_digest_hex(const unsigned char digest[16], char hex[PK_KEY_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[PK_KEY_HEX] = '\0';
}

void pk_key_hex(const pk_key *key, char hex[PK_KEY_HEX + 1])
{
	pk_key_digest_hex(key->bytes, hex);
}

int pk_key_equal(const pk_key *a, const pk_key *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

int pk_key_from_hex(const char *hex, pk_key *key)
{
	if (strlen(hex) != PK_KEY_HEX)
		return -1;
	for (int i = 0; i < 16; i++) {
		int hi = pk_hex_digit(hex[2 * i]), lo = pk_hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		key->bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int pk_key_is_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PK_KEY_HEX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pk_hex_digit(s[i]) < 0)
			return 0;
	return 1;
}

void pk_key_parts_free(pk_key_parts *p)
{
	if (p == NULL)
		return;
	/* A count with no array: its allocation failed (run_make_key). */
	for (size_t i = 0; p->argv != NULL && i < p->argc; i++)
		free(p->argv[i]);
	free(p->argv);
	free(p->program);
	for (size_t i = 0; i < p->ninputs; i++)
		free(p->inputs[i].path);
	free(p->inputs);
	for (size_t i = 0; i < p->nenv; i++) {
		free(p->env[i].name);
		free(p->env[i].value);
	}
	free(p->env);
	free(p->cwd);
	free(p->extra);
	for (size_t i = 0; p->outputs != NULL && i < p->noutputs; i++)
		free(p->outputs[i]);
	free(p->outputs);
	memset(p, 0, sizeof(*p));
}

static int cmp_envvar(const void *a, const void *b)
{
	return strcmp(((const pk_envvar *)a)->name, ((const pk_envvar *)b)->name);
}

static int add_var(pk_envvar **v, size_t *n, size_t *cap, const char *name, size_t namelen,
                   const char *value)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*v)[i].name) == namelen && memcmp((*v)[i].name, name, namelen) == 0)
			return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		pk_envvar *nv = realloc(*v, ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n].name = strndup(name, namelen);
	(*v)[*n].value = value ? strdup(value) : NULL;
	if ((*v)[*n].name == NULL || (value && (*v)[*n].value == NULL)) {
		free((*v)[*n].name);
		free((*v)[*n].value);
		return -1;
	}
	(*n)++;
	return 0;
}

uint32_t pk_key_env_digest(const char *value)
{
	/* XXH3-64 of "pickled-env", NUL, the value (or of "pickled-env-unset"):
	 * apart from any other hash pickled makes of the same bytes, and one
	 * `printf 'pickled-env\0%s' VALUE | xxhsum -H3` can check. */
	static const char set[] = "pickled-env", unset[] = "pickled-env-unset";
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	if (value != NULL) {
		XXH3_64bits_update(&st, set, sizeof(set));
		XXH3_64bits_update(&st, value, strlen(value));
	} else {
		XXH3_64bits_update(&st, unset, sizeof(unset) - 1);
	}
	return (uint32_t)(XXH3_64bits_digest(&st) >> 32);
}

int pk_key_select_env(char *const *names, size_t nnames, char *const *envp, pk_envvar **out,
                      size_t *nout)
{
	pk_envvar *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < nnames; i++) {
		const char *pat = names[i];
		int glob = strpbrk(pat, "*?[") != NULL;
		int found = 0;

		for (char *const *e = envp; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			size_t len;

			if (eq == NULL)
				continue;
			len = (size_t)(eq - *e);
			if (glob) {
				/* The name alone, however long: a long one left out
				 * would be a change the key does not see. */
				char *name = strndup(*e, len);
				int match;
				if (name == NULL)
					goto fail;
				match = fnmatch(pat, name, 0) == 0;
				free(name);
				if (!match)
					continue;
			} else if (strlen(pat) != len || memcmp(pat, *e, len) != 0) {
				continue;
			}
			if (add_var(&v, &n, &cap, *e, len, eq + 1) < 0)
				goto fail;
			found = 1;
			if (!glob)
				break;
		}
		if (!glob && !found && add_var(&v, &n, &cap, pat, strlen(pat), NULL) < 0)
			goto fail;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_envvar);
	for (size_t i = 0; i < n; i++) {
		v[i].has_digest = 1;
		v[i].was_set = v[i].value != NULL;
		v[i].digest = pk_key_env_digest(v[i].value);
	}
	*out = v;
	*nout = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	errno = ENOMEM;
	return -1;
}
