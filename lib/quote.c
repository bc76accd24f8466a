/* quote.c: quoting words for terminals and shells (see quote.h). */
#include "quote.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t pk_utf8_len(const unsigned char *p)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
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

/* The code point of the valid n-byte sequence at p. */
static uint32_t code_point(const unsigned char *p, size_t n)
{
	static const unsigned char lead[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = p[0] & lead[n];

	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/* Code points a terminal acts on or that reorder what is shown: C1
 * controls, and the bidirectional embeddings, overrides and isolates. */
static int unsafe_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

static int plain(const char *s, int flags)
{
	if (*s == '\0' || (flags & PK_QUOTE_ALWAYS))
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		            "0123456789_@%+=:,./-",
		            *s) ||
		    ((flags & PK_QUOTE_LIST) && *s == ','))
			return 0;
	return 1;
}

/* Non-zero when w needs the $'...' form. */
static int needs_escapes(const unsigned char *w)
{
	while (*w) {
		size_t n = pk_utf8_len(w);
		if (n == 0 || (n == 1 && (*w < 0x20 || *w == 0x7f)) ||
		    (n > 1 && unsafe_cp(code_point(w, n))))
			return 1;
		w += n;
	}
	return 0;
}

void pk_quote_word(pk_buf *b, const char *w, int flags)
{
	const unsigned char *p = (const unsigned char *)w;
	char esc[16];

	if (plain(w, flags)) {
		pk_buf_add(b, w, strlen(w));
		return;
	}
	if (!needs_escapes(p)) {
		pk_buf_add(b, "'", 1);
		for (; *p; p++) {
			if (*p == '\'')
				pk_buf_add(b, "'\\''", 4);
			else
				pk_buf_add(b, p, 1);
		}
		pk_buf_add(b, "'", 1);
		return;
	}
	pk_buf_add(b, "$'", 2);
	while (*p) {
		size_t n = pk_utf8_len(p);
		if (n == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			pk_buf_add(b, esc, 4);
			n = 1;
		} else if (n > 1) {
			uint32_t cp = code_point(p, n);
			if (unsafe_cp(cp)) {
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
				pk_buf_add(b, esc, 6);
			} else {
				pk_buf_add(b, p, n);
			}
		} else if (*p == '\n') {
			pk_buf_add(b, "\\n", 2);
		} else if (*p == '\t') {
			pk_buf_add(b, "\\t", 2);
		} else if (*p == '\'' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			pk_buf_add(b, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			pk_buf_add(b, esc, 4);
		} else {
			pk_buf_add(b, p, 1);
		}
		p += n;
	}
	pk_buf_add(b, "'", 1);
}
