/* units.h: durations, sizes and booleans as people write them in flags,
 * variables and config.
 * Durations: "90s", "15m", "6h", "2d", "1w", "250ms", combinations such as
 * "1h30m", a bare number of seconds, or "forever".  Sizes: "512", "500K",
 * "2M", "1.5G", "1T" (binary units; a trailing "B" or "iB" is allowed). */
#ifndef PK_UNITS_H
#define PK_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define PK_FOREVER INT64_MAX /* a duration that never ends, in ms */

/* Parses s into milliseconds.  Returns 0, or -1 when s is not a duration
 * (empty, unknown unit, overflow, negative). */
int pk_duration_parse(const char *s, int64_t *ms);

/* Parses s into bytes.  Returns 0, or -1 when s is not a size. */
int pk_size_parse(const char *s, uint64_t *bytes);

/* Parses a boolean as every variable and configuration key takes it:
 * true, yes, on, 1 or false, no, off, 0, in any case.  Returns 0 with *v
 * set to 1 or 0, or -1 when s is none of them. */
int pk_bool_parse(const char *s, int *v);

/* Short human forms: "3h12m", "45s", "2d4h", "forever"; "4.2M", "512B".
 * Write into buf (at least 16 bytes) and return buf. */
const char *pk_duration_format(int64_t ms, char *buf, size_t len);
/* Every unit, exact, as written back into a configuration and read back
 * the same: "1h30m15s", "250ms", "0s", "forever". */
const char *pk_duration_format_exact(int64_t ms, char *buf, size_t len);
const char *pk_size_format(uint64_t bytes, char *buf, size_t len);
/* The exact form, as written back into a configuration and read back the
 * same: "1536K", "1G", "1000". */
const char *pk_size_format_exact(uint64_t bytes, char *buf, size_t len);

#endif
