/* format.c: quoting and escaping for human and JSON output. */
#include "format.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* A word that needs no quotes; in a list of tags, a comma does. */
static int plain(const char *s, int in_list)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		            "0123456789_@%+=:,./-", *s) || (in_list && *s == ','))
			return 0;
	return 1;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

struct out {
	FILE *f;
	size_t n, max;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->max && o->n >= o->max)
		return;
	if (o->max && o->n + len > o->max)
		len = o->max - o->n;
	fwrite(s, 1, len, o->f);
	o->n += len;
}

static void put_word(struct out *o, const char *w, int in_list)
{
	if (plain(w, in_list)) {
		put(o, w, strlen(w));
	} else if (!has_control(w)) {
		put(o, "'", 1);
		for (const char *p = w; *p; p++) {
			if (*p == '\'')
				put(o, "'\\''", 4);
			else
				put(o, p, 1);
		}
		put(o, "'", 1);
	} else {
		put(o, "$'", 2);
		for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
			char esc[8];
			if (*p == '\n')
				put(o, "\\n", 2);
			else if (*p == '\t')
				put(o, "\\t", 2);
			else if (*p == '\'' || *p == '\\') {
				esc[0] = '\\';
				esc[1] = (char)*p;
				put(o, esc, 2);
			} else if (*p < 0x20 || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\x%02x", *p);
				put(o, esc, 4);
			} else
				put(o, (const char *)p, 1);
		}
		put(o, "'", 1);
	}
}

size_t fmt_command(FILE *f, char *const *argv, size_t argc, size_t max)
{
	struct out o = { f, 0, max };

	for (size_t i = 0; i < argc; i++) {
		if (i > 0)
			put(&o, " ", 1);
		put_word(&o, argv[i], 0);
	}
	return o.n;
}

size_t fmt_tags(FILE *f, char *const *tags, size_t n)
{
	struct out o = { f, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			put(&o, ",", 1);
		put_word(&o, tags[i], 1);
	}
	return o.n;
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) { n = 2; cp = p[0] & 0x1f; }
	else if ((p[0] & 0xf0) == 0xe0) { n = 3; cp = p[0] & 0x0f; }
	else if ((p[0] & 0xf8) == 0xf0) { n = 4; cp = p[0] & 0x07; }
	else return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void fmt_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				putc(*p, f);
		}
		p++;
	}
	putc('"', f);
}

size_t fmt_time(FILE *f, int64_t ms, int iso)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[64];

	if (iso) {
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	} else {
		localtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	}
	fputs(buf, f);
	return strlen(buf);
}

size_t fmt_term_width(void)
{
	struct winsize ws;

	if (!isatty(1) || ioctl(1, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return 0;
	return ws.ws_col;
}
