/* format.c: quoting and escaping for human and JSON output. */
#include "format.h"

#include "quote.h"

#include <stdlib.h>

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

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

/* One word, quoted by the rule every output of pickled shares (quote.h). */
static void put_word(struct out *o, const char *w, int flags)
{
	pk_buf b = { 0 };

	pk_quote_word(&b, w, flags);
	if (b.failed) /* no memory: the word is not shown, never shown raw */
		put(o, "?", 1);
	else
		put(o, (const char *)b.p, b.len);
	free(b.p);
}

size_t fmt_word(FILE *f, const char *w)
{
	struct out o = { f, 0, 0 };

	put_word(&o, w, 0);
	return o.n;
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
		put_word(&o, tags[i], PK_QUOTE_LIST);
	}
	return o.n;
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
		size_t n = pk_utf8_len(p);
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

int fmt_flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("pickled: cannot write output");
		return 1;
	}
	return 0;
}
