/* units.c: parsing and printing durations and sizes; parsing booleans. */
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int64_t unit_ms(const char *u, size_t n)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {
		{ "ms", 1 },      { "s", 1000 },     { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && strncmp(u, units[i].name, n) == 0)
			return units[i].ms;
	return -1;
}

int pk_duration_parse(const char *s, int64_t *ms)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "forever") == 0) {
		*ms = PK_FOREVER;
		return 0;
	}
	while (*p != '\0') {
		uint64_t n = 0;
		const char *u;
		int64_t mult;

		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > (uint64_t)INT64_MAX / 1000)
				return -1;
			p++;
		}
		u = p;
		while (isalpha((unsigned char)*p))
			p++;
		if (p == u) {
			/* A bare number is seconds, and only on its own. */
			if (p != s + strspn(s, "0123456789") || *p != '\0')
				return -1;
			mult = 1000;
		} else if ((mult = unit_ms(u, (size_t)(p - u))) < 0) {
			return -1;
		}
		if (n > 0 && (uint64_t)mult > (uint64_t)(INT64_MAX - 1 - total) / n)
			return -1;
		total += (int64_t)n * mult;
	}
	*ms = total;
	return 0;
}

int pk_size_parse(const char *s, uint64_t *bytes)
{
	char *end;
	double v;
	uint64_t mult = 1;
	size_t n;

	/* Decimal only: strtod alone would take "0x10" and "1e3". */
	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	n = strspn(s, "0123456789");
	if (s[n] == '.' && !isdigit((unsigned char)s[n + 1]))
		return -1;
	if (s[n] == '.')
		n += 1 + strspn(s + n + 1, "0123456789");
	if (s[n] != '\0' && !strchr("kKmMgGtTbB", s[n]))
		return -1;
	v = strtod(s, &end);
	if (end != s + n)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	default: break;
	}
	if (mult > 1 && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v < 0 || v * (double)mult >= 1.8e19)
		return -1;
	if (mult == 1 && strchr(s, '.') != NULL)
		return -1;
	*bytes = (uint64_t)(v * (double)mult);
	return 0;
}

/* The one duration formatter: every unit that is not zero, "1h30m15s"
 * (exact: reads back the same), or the two most significant ones, down to
 * seconds once there is a second, as people read an age: "3h12m". */
static const char *duration_format(int64_t ms, int exact, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} parts[] = {
		{ "w", 604800000 }, { "d", 86400000 }, { "h", 3600000 },
		{ "m", 60000 },     { "s", 1000 },     { "ms", 1 },
	};
	size_t used = 0;
	int shown = 0;

	if (ms == PK_FOREVER)
		return snprintf(buf, len, "forever"), buf;
	if (ms <= 0)
		return snprintf(buf, len, exact ? "0s" : "0ms"), buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && ms > 0; i++) {
		int n;

		if (!exact &&
		    (shown == 2 || (shown == 1 && (ms < parts[i].ms || parts[i].ms == 1))))
			break;
		if (ms < parts[i].ms)
			continue;
		n = snprintf(buf + used, len - used, "%lld%s", (long long)(ms / parts[i].ms),
		             parts[i].unit);
		if (n < 0 || (size_t)n >= len - used)
			break; /* cut short, as snprintf leaves it */
		used += (size_t)n;
		ms %= parts[i].ms;
		shown++;
	}
	return buf;
}

const char *pk_duration_format(int64_t ms, char *buf, size_t len)
{
	return duration_format(ms, 0, buf, len);
}

const char *pk_duration_format_exact(int64_t ms, char *buf, size_t len)
{
	return duration_format(ms, 1, buf, len);
}

const char *pk_size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int i = -1;


	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	/* Round to what is printed first, then pick the unit, as numfmt does:
	 * 1048575 bytes is "1.0M", not "1024K". */
	for (;;) {
		v /= 1024;
		i++;
		double shown = v < 9.95 ? (double)(uint64_t)(v * 10 + 0.5) / 10
		                        : (double)(uint64_t)(v + 0.5);
		if (shown < 1024 || i == 5) {
			if (shown < 10)
				snprintf(buf, len, "%.1f%c", shown, units[i]);
			else
				snprintf(buf, len, "%.0f%c", shown, units[i]);
			return buf;
		}
	}
}

int pk_bool_parse(const char *s, int *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };

	for (int i = 0; s != NULL && yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

const char *pk_size_format_exact(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (int i = 0; i < 4 && b > 0; i++) {
		uint64_t u = 1ULL << (10 * (4 - i));
		if (b % u == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(b / u), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)b);
	return buf;
}
