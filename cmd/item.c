/* item.c: an entry's fields for ls and show. */
#include "item.h"

#include "manifest.h"

#include "format.h"
#include "units.h"

const char *item_state(const pk_item *it, int64_t now_ms)
{
	return pk_meta_freshness_name(pk_item_freshness(it, now_ms));
}

int64_t item_saved_ms(const pk_item *it)
{
	return (int64_t)it->hits * it->meta.duration_ms;
}

static void json_ms(FILE *f, const char *name, int64_t ms)
{
	fprintf(f, ",\"%s\":", name);
	if (ms == PK_FOREVER)
		fputs("null", f);
	else
		fprintf(f, "%lld", (long long)ms);
}

static void json_time(FILE *f, const char *name, int64_t ms)
{
	fprintf(f, ",\"%s\":", name);
	if (ms <= 0) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	fmt_time(f, ms, 1);
	putc('"', f);
}

static void json_strs(FILE *f, const char *name, char *const *v, size_t n)
{
	fprintf(f, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		if (i)
			putc(',', f);
		fmt_json_str(f, v[i]);
	}
	putc(']', f);
}

/* "traced": null for an untraced entry, else its manifest key, its
 * recorded inputs, written paths and network peers. */
static void trace_json(FILE *f, const pk_meta *m)
{
	pk_trace_note n;
	pk_error err = { 0 };
	char h[33];

	fputs(",\"traced\":", f);
	if (m->trace == NULL || pk_trace_note_decode(m->trace, m->trace_len, &n, &err) < 0) {
		fputs("null", f);
		return;
	}
	pk_key_hex(&n.manifest, h);
	fprintf(f, "{\"manifest\":\"%s\",\"inputs\":[", h);
	for (size_t i = 0; i < n.ninputs; i++) {
		fputs(i ? ",{\"path\":" : "{\"path\":", f);
		fmt_json_str(f, n.inputs[i].path);
		fprintf(f, ",\"kind\":\"%s\"", pk_mkind_name(n.inputs[i].kind));
		pk_key_digest_hex(n.inputs[i].hash, h);
		if (n.inputs[i].kind == PK_MK_ABSENT || n.inputs[i].kind == PK_MK_STAT)
			fputs(",\"xxh3\":null}", f);
		else
			fprintf(f, ",\"xxh3\":\"%s\"}", h);
	}
	fputc(']', f);
	json_strs(f, "written", n.written, n.nwritten);
	json_strs(f, "network", n.peers, n.npeers);
	fputc('}', f);
	pk_trace_note_free(&n);
}

void item_json(FILE *f, const pk_item *it, int64_t now)
{
	const pk_meta *m = &it->meta;
	const pk_key_parts *p = &m->parts;
	char h[33];

	fprintf(f, "{\"key\":\"%s\"", it->hex);
	if (it->damaged) {
		fputs(",\"damaged\":true,\"reason\":", f);
		fmt_json_str(f, it->reason);
		fprintf(f, ",\"stored_bytes\":%llu}", (unsigned long long)it->stored);
		return;
	}
	fputs(",\"damaged\":false", f);
	json_strs(f, "command", p->argv, p->argc);
	fputs(",\"program\":", f);
	fmt_json_str(f, p->program);
	fputs(",\"cwd\":", f);
	fmt_json_str(f, m->run_cwd);
	json_time(f, "created", m->created_ms);
	fprintf(f, ",\"created_ms\":%lld", (long long)m->created_ms);
	fprintf(f, ",\"age_ms\":%lld", (long long)pk_item_age(it, now));
	json_ms(f, "ttl_ms", m->ttl_ms);
	json_ms(f, "stale_ms", m->stale_ms > 0 ? m->stale_ms : PK_FOREVER);
	fprintf(f, ",\"state\":\"%s\"", item_state(it, now));
	fprintf(f, ",\"exit_status\":%d", m->exit_status);
	fprintf(f, ",\"duration_ms\":%lld", (long long)m->duration_ms);
	fprintf(f, ",\"stdout_bytes\":%llu,\"stderr_bytes\":%llu",
	        (unsigned long long)m->stdout_bytes, (unsigned long long)m->stderr_bytes);
	fprintf(f, ",\"raw_bytes\":%llu,\"stored_bytes\":%llu",
	        (unsigned long long)pk_meta_raw_bytes(m), (unsigned long long)it->stored);
	fprintf(f, ",\"hits\":%llu", (unsigned long long)it->hits);
	json_time(f, "last_hit", it->last_hit_ms);
	fprintf(f, ",\"saved_ms\":%lld", (long long)item_saved_ms(it));
	json_strs(f, "tags", m->tags, m->ntags);
	fputs(",\"name\":", f);
	fmt_json_str(f, m->name);
	fputs(",\"inputs\":[", f);
	for (size_t i = 0; i < p->ninputs; i++) {
		fputs(i ? ",{\"path\":" : "{\"path\":", f);
		fmt_json_str(f, p->inputs[i].path);
		if (p->inputs[i].present) {
			pk_key_digest_hex(p->inputs[i].hash, h);
			fprintf(f, ",\"present\":true,\"xxh3\":\"%s\"}", h);
		} else {
			fputs(",\"present\":false,\"xxh3\":null}", f);
		}
	}
	fputs("]", f);
	fputs(",\"env\":[", f);
	for (size_t i = 0; i < p->nenv; i++) {
		if (i)
			putc(',', f);
		fmt_json_str(f, p->env[i].name);
	}
	fputs("]", f);
	/* Never a value: whether it was set, and its digest (key.h). */
	fputs(",\"env_digests\":{", f);
	for (size_t i = 0; i < p->nenv; i++) {
		const pk_envvar *e = &p->env[i];
		if (i)
			putc(',', f);
		fmt_json_str(f, e->name);
		if (!e->has_digest)
			fputs(":null", f);
		else if (!e->was_set)
			fputs(":\"unset\"", f);
		else
			fprintf(f, ":\"%08x\"", (unsigned)e->digest);
	}
	putc('}', f);
	fputs(",\"key_cwd\":", f);
	fmt_json_str(f, p->cwd);
	fputs(",\"stdin_xxh3\":", f);
	if (p->has_stdin) {
		pk_key_digest_hex(p->stdin_hash, h);
		fprintf(f, "\"%s\"", h);
	} else {
		fputs("null", f);
	}
	fputs(",\"key_text\":", f);
	fmt_json_str(f, p->extra);
	fputs(",\"outputs\":[", f);
	for (size_t i = 0; i < m->nfiles; i++) {
		fputs(i ? ",{\"path\":" : "{\"path\":", f);
		fmt_json_str(f, m->files[i].path);
		fprintf(f, ",\"mode\":\"%04o\",\"size\":%llu", (unsigned)m->files[i].mode,
		        (unsigned long long)m->files[i].size);
		if (m->files[i].is_dir)
			fprintf(f, ",\"directory\":true,\"entries\":%zu", m->files[i].nmembers);
		fputs("}", f);
	}
	fputs("]", f);
	fprintf(f, ",\"cache_failures\":%s", p->cache_failures ? "true" : "false");
	trace_json(f, m);
	fputc('}', f);
}
