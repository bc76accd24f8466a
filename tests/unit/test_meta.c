/* test_meta.c: unit tests for lib/meta.c: every field survives an encode
 * and decode, and damaged encodings are refused without crashing. */
#include "unit.h"

#include "meta.h"

/* A meta with every field set, pointing into its own arrays. */
struct fixture {
	char *argv[3];
	pk_input inputs[2];
	pk_envvar env[2];
	char *outputs[2];
	char *tags[2];
	pk_outfile files[2];
	pk_meta m;
};

static void fixture_init(struct fixture *f)
{
	pk_key_parts *p = &f->m.parts;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 16; i++)
		f->m.key.bytes[i] = (unsigned char)(0xf0 - i);
	f->argv[0] = "report";
	f->argv[1] = ""; /* empty arguments are kept */
	f->argv[2] = "--since=1 day";
	p->argc = 3;
	p->argv = f->argv;
	p->program = "/usr/local/bin/report";
	p->program_check = PK_PROGRAM_CONTENT;
	p->program_size = 987654321;
	p->program_mtime_ns = -5; /* before 1970: the sign survives */
	memset(p->program_hash, 0x3c, 16);
	f->inputs[0].path = "data/absent.csv";
	f->inputs[0].present = 0;
	f->inputs[1].path = "data/present.csv";
	f->inputs[1].present = 1;
	for (int i = 0; i < 16; i++)
		f->inputs[1].hash[i] = (unsigned char)i;
	p->ninputs = 2;
	p->inputs = f->inputs;
	f->env[0].name = "LANG";
	f->env[1].name = "TZ";
	p->nenv = 2;
	p->env = f->env;
	p->cwd = "/srv/reports";
	p->has_stdin = 1;
	memset(p->stdin_hash, 0x99, 16);
	p->extra = "ns";
	f->outputs[0] = "out/a.csv";
	f->outputs[1] = "out/b.csv";
	p->noutputs = 2;
	p->outputs = f->outputs;
	p->cache_failures = 1;
	f->m.run_cwd = "/home/ops";
	f->m.exit_status = 3;
	f->m.created_ms = 1764000000123LL;
	f->m.duration_ms = 4321;
	f->m.ttl_ms = INT64_MAX;
	f->m.stale_ms = 3600000;
	f->m.stdout_bytes = 5000000000ULL;
	f->m.stderr_bytes = 17;
	f->m.stdin_known = 1;
	f->m.stdin_read = 6000000000ULL;
	f->tags[0] = "nightly";
	f->tags[1] = "team=ops";
	f->m.ntags = 2;
	f->m.tags = f->tags;
	f->m.name = "nightly-report";
	/* A traced run's note: opaque bytes to meta, NUL included. */
	f->m.trace = (unsigned char *)(uintptr_t) "note\0bytes";
	f->m.trace_len = 10;
	f->files[0].path = "out/a.csv";
	f->files[0].mode = 0640;
	f->files[0].size = 123;
	f->files[1].path = "out/b.csv";
	f->files[1].mode = 04755;
	f->files[1].size = 0;
	f->m.nfiles = 2;
	f->m.files = f->files;
}

static void encode(const pk_meta *m, unsigned char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	assert_int_equal(pk_meta_encode(m, buf, len), 0);
	assert_non_null(*buf);
	assert_true(*len > 0);
}

static void test_round_trip_every_field(void **state)
{
	struct fixture f;
	unsigned char *buf;
	size_t len;
	pk_meta d;
	pk_error err = { 0, "" };
	(void)state;

	fixture_init(&f);
	encode(&f.m, &buf, &len);
	assert_int_equal(pk_meta_decode(buf, len, &d, &err), 0);

	assert_memory_equal(d.key.bytes, f.m.key.bytes, 16);
	assert_int_equal(d.parts.argc, 3);
	assert_string_equal(d.parts.argv[0], "report");
	assert_string_equal(d.parts.argv[1], "");
	assert_string_equal(d.parts.argv[2], "--since=1 day");
	assert_string_equal(d.parts.program, "/usr/local/bin/report");
	assert_int_equal(d.parts.program_check, PK_PROGRAM_CONTENT);
	assert_int_equal(d.parts.program_size, 987654321);
	assert_true(d.parts.program_mtime_ns == -5);
	assert_memory_equal(d.parts.program_hash, f.m.parts.program_hash, 16);
	assert_int_equal(d.parts.ninputs, 2);
	assert_string_equal(d.parts.inputs[0].path, "data/absent.csv");
	assert_int_equal(d.parts.inputs[0].present, 0);
	assert_string_equal(d.parts.inputs[1].path, "data/present.csv");
	assert_int_equal(d.parts.inputs[1].present, 1);
	assert_memory_equal(d.parts.inputs[1].hash, f.inputs[1].hash, 16);
	assert_int_equal(d.parts.nenv, 2);
	assert_string_equal(d.parts.env[0].name, "LANG");
	assert_null(d.parts.env[0].value);
	assert_string_equal(d.parts.env[1].name, "TZ");
	assert_null(d.parts.env[1].value);
	assert_string_equal(d.parts.cwd, "/srv/reports");
	assert_int_equal(d.parts.has_stdin, 1);
	assert_memory_equal(d.parts.stdin_hash, f.m.parts.stdin_hash, 16);
	assert_string_equal(d.parts.extra, "ns");
	assert_int_equal(d.parts.noutputs, 2);
	assert_string_equal(d.parts.outputs[0], "out/a.csv");
	assert_string_equal(d.parts.outputs[1], "out/b.csv");
	assert_int_equal(d.parts.cache_failures, 1);
	assert_string_equal(d.run_cwd, "/home/ops");
	assert_int_equal(d.exit_status, 3);
	assert_true(d.created_ms == 1764000000123LL);
	assert_true(d.duration_ms == 4321);
	assert_true(d.ttl_ms == INT64_MAX);
	assert_true(d.stale_ms == 3600000);
	assert_true(d.stdout_bytes == 5000000000ULL);
	assert_true(d.stderr_bytes == 17);
	assert_int_equal(d.stdin_known, 1);
	assert_int_equal(d.stdin_at_end, 0);
	assert_true(d.stdin_read == 6000000000ULL);
	assert_int_equal(d.ntags, 2);
	assert_string_equal(d.tags[0], "nightly");
	assert_string_equal(d.tags[1], "team=ops");
	assert_string_equal(d.name, "nightly-report");
	assert_int_equal(d.trace_len, 10);
	assert_memory_equal(d.trace, "note\0bytes", 10);
	assert_int_equal(d.nfiles, 2);
	assert_string_equal(d.files[0].path, "out/a.csv");
	assert_int_equal(d.files[0].mode, 0640);
	assert_int_equal(d.files[0].size, 123);
	assert_string_equal(d.files[1].path, "out/b.csv");
	assert_int_equal(d.files[1].mode, 04755);
	assert_int_equal(d.files[1].size, 0);
	assert_true(pk_meta_raw_bytes(&d) == 5000000000ULL + 17 + 123);

	/* The decoded meta encodes to the same bytes. */
	{
		unsigned char *again;
		size_t alen;
		encode(&d, &again, &alen);
		assert_int_equal(alen, len);
		assert_memory_equal(again, buf, len);
		free(again);
	}
	pk_meta_free(&d);
	assert_null(d.parts.argv);
	pk_meta_free(&d); /* freed twice: zeroed the first time */
	pk_meta_free(NULL);
	free(buf);
}

/* A declared directory: its members, files' sums and link texts survive;
 * its size is its files' bytes. */
static void test_round_trip_directory(void **state)
{
	struct fixture f;
	pk_outmember mb[4] = {
		{ "part=1", S_IFDIR | 0750, 0, { 0 }, NULL },
		{ "part=1/a.parquet", S_IFREG | 0640, 1000, { 7, 7, 7 }, NULL },
		{ "latest", S_IFLNK | 0777, 0, { 0 }, "part=1/a.parquet" },
		{ "host", S_IFLNK | 0777, 0, { 0 }, "/etc/hostname" },
	};
	unsigned char *buf, *again;
	size_t len, alen;
	pk_meta d;
	pk_error err = { 0, "" };
	(void)state;

	fixture_init(&f);
	f.files[1].is_dir = 1;
	f.files[1].mode = 0755;
	f.files[1].size = 1000;
	f.files[1].nmembers = 4;
	f.files[1].members = mb;
	f.files[0].has_sum = 1;
	memset(f.files[0].sum, 0x5a, 16);
	encode(&f.m, &buf, &len);
	assert_int_equal(pk_meta_decode(buf, len, &d, &err), 0);
	assert_int_equal(d.files[0].is_dir, 0);
	assert_int_equal(d.files[0].has_sum, 1);
	assert_memory_equal(d.files[0].sum, f.files[0].sum, 16);
	assert_int_equal(d.files[1].is_dir, 1);
	assert_int_equal(d.files[1].nmembers, 4);
	assert_true(d.files[1].size == 1000);
	for (size_t k = 0; k < 4; k++) {
		assert_string_equal(d.files[1].members[k].rel, mb[k].rel);
		assert_int_equal(d.files[1].members[k].mode, mb[k].mode);
		assert_true(d.files[1].members[k].size == mb[k].size);
		assert_memory_equal(d.files[1].members[k].sum, mb[k].sum, 16);
		if (mb[k].target)
			assert_string_equal(d.files[1].members[k].target, mb[k].target);
		else
			assert_null(d.files[1].members[k].target);
	}
	assert_true(pk_meta_raw_bytes(&d) == 5000000000ULL + 17 + 123 + 1000);
	encode(&d, &again, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(again, buf, len);
	free(again);
	pk_meta_free(&d);
	free(buf);
}

/* Decodes the fixture with its second file a directory holding the one
 * member mb: 0, or -1 with err set. */
static int decode_with_member(pk_outmember *mb, pk_error *err)
{
	struct fixture f;
	unsigned char *buf;
	size_t len;
	pk_meta d;
	int ret;

	fixture_init(&f);
	f.files[1].is_dir = 1;
	f.files[1].nmembers = 1;
	f.files[1].members = mb;
	encode(&f.m, &buf, &len);
	ret = pk_meta_decode(buf, len, &d, err);
	pk_meta_free(&d);
	free(buf);
	return ret;
}

/* A member path that would leave the directory, or a member of another
 * kind, is refused: a forged entry must not write outside it. */
static void test_directory_member_paths_refused(void **state)
{
	static const char *const bad[] = {
		"../x", "/etc/x", "a//b", "a/./b", "a/..", ".", "", "a/"
	};
	pk_outmember fifo = { "fifo", S_IFIFO | 0644, 0, { 0 }, NULL };
	pk_error err = { 0, "" };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pk_outmember mb = { (char *)(uintptr_t)bad[i], S_IFREG | 0644, 0, { 0 }, NULL };
		assert_int_equal(decode_with_member(&mb, &err), -1);
		assert_string_equal(err.msg, "bad metadata directory member");
	}
	assert_int_equal(decode_with_member(&fifo, &err), -1);
}

/* The smallest meta a decoder accepts: a key and a command. */
static void test_round_trip_minimal(void **state)
{
	char *argv[] = { "true" };
	pk_meta m, d;
	unsigned char *buf;
	size_t len;
	pk_error err = { 0, "" };
	(void)state;

	memset(&m, 0, sizeof(m));
	m.parts.argc = 1;
	m.parts.argv = argv;
	m.parts.program_check = PK_PROGRAM_MTIME;
	memset(m.parts.program_hash, 0xff, 16); /* not stored under MTIME */
	encode(&m, &buf, &len);
	assert_int_equal(pk_meta_decode(buf, len, &d, &err), 0);
	assert_int_equal(d.parts.argc, 1);
	assert_string_equal(d.parts.argv[0], "true");
	assert_null(d.parts.program);
	assert_int_equal(d.parts.program_check, PK_PROGRAM_MTIME);
	assert_int_equal(d.parts.ninputs, 0);
	assert_null(d.parts.cwd);
	assert_int_equal(d.parts.has_stdin, 0);
	assert_int_equal(d.stdin_known, 0);
	assert_null(d.parts.extra);
	assert_null(d.run_cwd);
	assert_int_equal(d.ntags, 0);
	assert_null(d.name);
	assert_int_equal(d.nfiles, 0);
	pk_meta_free(&d);
	free(buf);
}

/* meta.h: "Values of environment variables are never recorded". */
static void test_env_values_not_recorded(void **state)
{
	struct fixture f;
	char secret[] = "s3cr3t-t0ken";
	unsigned char *buf;
	size_t len;
	(void)state;

	fixture_init(&f);
	f.env[0].value = secret;
	encode(&f.m, &buf, &len);
	assert_null(memmem(buf, len, secret, strlen(secret)));
	free(buf);
}

/* In place of a value, whether it was set and its digest: decoded as they
 * were, and an entry without them (an older pickled) decodes as unknown. */
static void test_env_digests_round_trip(void **state)
{
	struct fixture f;
	unsigned char *buf;
	size_t len;
	pk_meta d;
	pk_error err = { 0, "" };
	(void)state;

	fixture_init(&f);
	f.env[0].has_digest = 1;
	f.env[0].was_set = 1;
	f.env[0].digest = pk_key_env_digest("en_US.UTF-8");
	f.env[1].has_digest = 1;
	f.env[1].was_set = 0;
	f.env[1].digest = pk_key_env_digest(NULL);
	assert_true(f.env[0].digest != f.env[1].digest);
	assert_true(pk_key_env_digest("") != pk_key_env_digest(NULL));
	encode(&f.m, &buf, &len);
	assert_int_equal(pk_meta_decode(buf, len, &d, &err), 0);
	assert_int_equal(d.parts.nenv, 2);
	assert_true(d.parts.env[0].has_digest && d.parts.env[0].was_set);
	assert_true(d.parts.env[0].digest == f.env[0].digest);
	assert_true(d.parts.env[1].has_digest && !d.parts.env[1].was_set);
	assert_true(d.parts.env[1].digest == f.env[1].digest);
	assert_null(d.parts.env[0].value);
	pk_meta_free(&d);
	free(buf);
	/* Without digests: unknown. */
	fixture_init(&f);
	encode(&f.m, &buf, &len);
	assert_int_equal(pk_meta_decode(buf, len, &d, &err), 0);
	assert_false(d.parts.env[0].has_digest);
	assert_false(d.parts.env[1].has_digest);
	pk_meta_free(&d);
	free(buf);
}

/* ttl, stale and the other run facts live beside the parts, never in them:
 * the same command asked with another ttl finds the same entry. */
static void test_run_facts_not_in_key(void **state)
{
	struct fixture a, b;
	pk_key ka, kb;
	(void)state;

	fixture_init(&a);
	fixture_init(&b);
	b.m.ttl_ms = 1000;
	b.m.stale_ms = 0;
	b.m.exit_status = 0;
	b.m.created_ms = 0;
	b.m.ntags = 0;
	b.m.run_cwd = "/elsewhere";
	pk_key_compute(&a.m.parts, &ka);
	pk_key_compute(&b.m.parts, &kb);
	assert_memory_equal(ka.bytes, kb.bytes, 16);
}

/* Appends a (tag, u32 length, bytes) field. */
/* The end-of-metadata marker's tag in the encoding. */
#define TAG_END 25

static unsigned char *append_field(unsigned char *buf, size_t *len, int tag, const void *data,
                                   uint32_t flen)
{
	unsigned char *nb = realloc(buf, *len + 5 + flen);
	assert_non_null(nb);
	nb[*len] = (unsigned char)tag;
	for (int i = 0; i < 4; i++)
		nb[*len + 1 + (size_t)i] = (unsigned char)(flen >> (8 * i));
	if (flen > 0)
		memcpy(nb + *len + 5, data, flen);
	*len += 5 + flen;
	return nb;
}

static void test_unknown_tags_skipped(void **state)
{
	struct fixture f;
	unsigned char *buf;
	size_t len;
	pk_meta d;
	pk_error err = { 0, "" };
	(void)state;

	fixture_init(&f);
	encode(&f.m, &buf, &len);
	len -= 5; /* unknown fields go before the end marker */
	buf = append_field(buf, &len, 200, "from the future", 15);
	buf = append_field(buf, &len, 255, NULL, 0);
	buf = append_field(buf, &len, TAG_END, NULL, 0);
	assert_int_equal(pk_meta_decode(buf, len, &d, &err), 0);
	assert_int_equal(d.exit_status, 3);
	assert_int_equal(d.nfiles, 2);
	assert_string_equal(d.tags[1], "team=ops");
	pk_meta_free(&d);
	free(buf);
}

/* Offsets where fields start, and the end: the framing is a 1-byte tag
 * and a 4-byte little-endian length. */
static size_t field_starts(const unsigned char *buf, size_t len, size_t *starts, size_t max)
{
	size_t n = 0, off = 0;
	while (off < len) {
		assert_true(n < max);
		starts[n++] = off;
		assert_true(len - off >= 5);
		off += 5 + ((size_t)buf[off + 1] | (size_t)buf[off + 2] << 8 |
		            (size_t)buf[off + 3] << 16 | (size_t)buf[off + 4] << 24);
	}
	assert_int_equal(off, len);
	return n;
}

/* Decodes a malloc'd copy of buf[0..n) so that ASan sees any read past it. */
static int decode_copy(const unsigned char *buf, size_t n, pk_error *err)
{
	unsigned char *copy = malloc(n ? n : 1);
	pk_meta d;
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, n);
	r = pk_meta_decode(copy, n, &d, err);
	pk_meta_free(&d);
	free(copy);
	return r;
}

/* A cut inside a field is always noticed. */
static void test_truncated_inside_a_field(void **state)
{
	struct fixture f;
	unsigned char *buf;
	size_t len, starts[64], nstarts, next = 0;
	pk_error err;
	(void)state;

	fixture_init(&f);
	encode(&f.m, &buf, &len);
	nstarts = field_starts(buf, len, starts, 64);
	for (size_t cut = 0; cut < len; cut++) {
		int boundary;
		while (next < nstarts && starts[next] < cut)
			next++;
		boundary = next < nstarts && starts[next] == cut;
		if (boundary)
			continue;
		memset(&err, 0, sizeof(err));
		if (decode_copy(buf, cut, &err) != -1)
			fail_msg("metadata cut at %zu of %zu bytes decoded", cut, len);
		assert_true(err.msg[0] != '\0');
	}
	free(buf);
}

/* Every shorter length is refused, including cuts that fall between two
 * fields: a cut entry must not decode as a smaller meta (fewer tags, fewer
 * files, exit status 0). */
static void test_truncated_at_every_length(void **state)
{
	struct fixture f;
	unsigned char *buf;
	size_t len, accepted = 0, first = 0;
	(void)state;

	fixture_init(&f);
	encode(&f.m, &buf, &len);
	for (size_t cut = 0; cut < len; cut++) {
		pk_error err;
		memset(&err, 0, sizeof(err));
		if (decode_copy(buf, cut, &err) != -1 && accepted++ == 0)
			first = cut;
	}
	free(buf);
	if (accepted > 0)
		fail_msg("%zu of the lengths 0..%zu decode (the first: %zu bytes)", accepted,
		         len - 1, first);
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void test_field_length_overrun(void **state)
{
	struct fixture f;
	unsigned char *buf;
	size_t len, starts[64], nstarts;
	(void)state;

	fixture_init(&f);
	encode(&f.m, &buf, &len);
	nstarts = field_starts(buf, len, starts, 64);
	for (size_t i = 0; i < nstarts; i++) {
		size_t off = starts[i];
		size_t flen = (size_t)buf[off + 1] | (size_t)buf[off + 2] << 8 |
		              (size_t)buf[off + 3] << 16 | (size_t)buf[off + 4] << 24;
		uint32_t overruns[] = {
			(uint32_t)(len - off - 5 + 1), /* one byte past the end */
			0x7fffffffu,
			0xffffffffu,
		};
		for (size_t j = 0; j < 3; j++) {
			pk_error err = { 0, "" };
			put_u32(buf + off + 1, overruns[j]);
			if (decode_copy(buf, len, &err) != -1)
				fail_msg("field %zu with length %u decoded", i, overruns[j]);
			assert_true(err.msg[0] != '\0');
		}
		put_u32(buf + off + 1, (uint32_t)flen);
	}
	free(buf);
}

static void test_malformed_fields(void **state)
{
	unsigned char key[16] = { 1 }, num[8] = { 0 };
	pk_error err;
	pk_meta d;
	unsigned char *buf = NULL;
	size_t len = 0;
	(void)state;

	/* Tag numbers from the encoding: 1 key, 2 argument, 16 exit status. */
	buf = append_field(buf, &len, 1, key, 16);
	/* No command: refused. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(pk_meta_decode(buf, len, &d, &err), -1);
	pk_meta_free(&d);
	/* With a command: accepted. */
	buf = append_field(buf, &len, 2, "ls", 2);
	{
		size_t l2 = len;
		unsigned char *b2 = malloc(len);
		assert_non_null(b2);
		memcpy(b2, buf, len);
		/* Without the end marker: a cut, refused. */
		assert_int_equal(pk_meta_decode(b2, l2, &d, &err), -1);
		pk_meta_free(&d);
		b2 = append_field(b2, &l2, TAG_END, NULL, 0);
		assert_int_equal(pk_meta_decode(b2, l2, &d, &err), 0);
		pk_meta_free(&d);
		/* Anything after the end marker: refused. */
		b2 = append_field(b2, &l2, 2, "x", 1);
		assert_int_equal(pk_meta_decode(b2, l2, &d, &err), -1);
		pk_meta_free(&d);
		free(b2);
	}
	{
		/* A NUL inside a string. */
		size_t l2 = len;
		unsigned char *b2 = malloc(len);
		assert_non_null(b2);
		memcpy(b2, buf, len);
		b2 = append_field(b2, &l2, 2, "a\0b", 3);
		b2 = append_field(b2, &l2, TAG_END, NULL, 0);
		memset(&err, 0, sizeof(err));
		assert_int_equal(pk_meta_decode(b2, l2, &d, &err), -1);
		pk_meta_free(&d);
		free(b2);
	}
	{
		/* A number of 7 bytes. */
		size_t l2 = len;
		unsigned char *b2 = malloc(len);
		assert_non_null(b2);
		memcpy(b2, buf, len);
		b2 = append_field(b2, &l2, 16, num, 7);
		b2 = append_field(b2, &l2, TAG_END, NULL, 0);
		memset(&err, 0, sizeof(err));
		assert_int_equal(pk_meta_decode(b2, l2, &d, &err), -1);
		pk_meta_free(&d);
		free(b2);
	}
	{
		/* A key of 15 bytes. */
		size_t l2 = 0;
		unsigned char *b2 = append_field(NULL, &l2, 1, key, 15);
		b2 = append_field(b2, &l2, 2, "ls", 2);
		b2 = append_field(b2, &l2, TAG_END, NULL, 0);
		memset(&err, 0, sizeof(err));
		assert_int_equal(pk_meta_decode(b2, l2, &d, &err), -1);
		pk_meta_free(&d);
		free(b2);
	}
	/* Nothing at all. */
	assert_int_equal(pk_meta_decode(buf, 0, &d, &err), -1);
	pk_meta_free(&d);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_field),
		cmocka_unit_test(test_round_trip_directory),
		cmocka_unit_test(test_directory_member_paths_refused),
		cmocka_unit_test(test_round_trip_minimal),
		cmocka_unit_test(test_env_values_not_recorded),
		cmocka_unit_test(test_env_digests_round_trip),
		cmocka_unit_test(test_run_facts_not_in_key),
		cmocka_unit_test(test_unknown_tags_skipped),
		cmocka_unit_test(test_truncated_inside_a_field),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_field_length_overrun),
		cmocka_unit_test(test_malformed_fields),
	};
	return cmocka_run_group_tests_name("meta", tests, NULL, NULL);
}
