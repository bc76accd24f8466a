/* version.c: which library versions pickled was built with and runs with.
 * Each library is asked for its own version where it has a call for it, so
 * that a shared library upgraded under the binary shows as such. */
#include "version.h"

#include <hiredis/hiredis.h>
#include <sodium.h>
#include <yaml.h>
#include <zstd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by the Makefile: 1 when libyaml, xxhash, hiredis and libsodium are linked in
 * statically (STATIC_DEPS=1, the default); zstd is always shared. */
#ifndef PK_STATIC_DEPS
#define PK_STATIC_DEPS 0
#endif
/* libyaml's headers carry no version: the Makefile passes the one
 * pkg-config reports for them. */
#ifndef PK_YAML_BUILT
#define PK_YAML_BUILT "?"
#endif

struct soname_search {
	const char *prefix; /* "libhiredis.so." */
	char *out;
	size_t len;
	int found;
};

/* dl_iterate_phdr callback: the version part of the real file name of the
 * loaded object named prefix*: "0.14" for libhiredis.so.0.14, which the
 * loader's name (the SONAME link) may point to under a longer name. */
static int find_soname(struct dl_phdr_info *info, size_t size, void *data)
{
	struct soname_search *s = data;
	size_t plen = strlen(s->prefix);
	const char *base;
	char *real;
	int n;

	(void)size;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, s->prefix) == NULL)
		return 0;
	if ((real = realpath(info->dlpi_name, NULL)) == NULL)
		return 0;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (strncmp(base, s->prefix, plen) == 0) {
		n = snprintf(s->out, s->len, "%s", base + plen);
		s->found = n > 0 && (size_t)n < s->len;
	}
	free(real);
	return s->found;
}

static void set(char *dst, size_t len, const char *src)
{
	/* Versions are short; one cut short still names the version. */
	if (snprintf(dst, len, "%s", src) >= (int)len)
		dst[len - 1] = '\0';
}

static void xxh_format(unsigned v, char *buf, size_t len)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%u.%u.%u", v / 10000, v / 100 % 100, v % 100);
	set(buf, len, tmp);
}

size_t pk_version_libs(pk_libversion *out, size_t max)
{
	pk_libversion v[5];
	size_t n = 0;
	char tmp[32];

	memset(v, 0, sizeof(v));

	v[n].name = "zstd";
	set(v[n].built, sizeof(v[n].built), ZSTD_VERSION_STRING);
	set(v[n].running, sizeof(v[n].running), ZSTD_versionString());
	v[n++].is_static = 0;

	v[n].name = "xxhash";
	xxh_format(XXH_VERSION_NUMBER, v[n].built, sizeof(v[n].built));
	xxh_format(XXH_versionNumber(), v[n].running, sizeof(v[n].running));
	v[n++].is_static = PK_STATIC_DEPS;

	v[n].name = "libyaml";
	set(v[n].built, sizeof(v[n].built), PK_YAML_BUILT);
	set(v[n].running, sizeof(v[n].running), yaml_get_version_string());
	v[n++].is_static = PK_STATIC_DEPS;

	/* hiredis has no version call: linked in, the code is the headers';
	 * shared, the loaded file's name carries its version. */
	v[n].name = "hiredis";
	snprintf(tmp, sizeof(tmp), "%d.%d.%d", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
	set(v[n].built, sizeof(v[n].built), tmp);
	v[n].is_static = PK_STATIC_DEPS;
	if (PK_STATIC_DEPS) {
		set(v[n].running, sizeof(v[n].running), tmp);
	} else {
		struct soname_search s = { "libhiredis.so.", v[n].running, sizeof(v[n].running),
			                   0 };
		dl_iterate_phdr(find_soname, &s);
		if (!s.found)
			set(v[n].running, sizeof(v[n].running), "?");
	}
	n++;

	v[n].name = "libsodium";
	set(v[n].built, sizeof(v[n].built), SODIUM_VERSION_STRING);
	set(v[n].running, sizeof(v[n].running), sodium_version_string());
	v[n++].is_static = PK_STATIC_DEPS;

	for (size_t i = 0; i < n && i < max; i++)
		out[i] = v[i];
	return n;
}
