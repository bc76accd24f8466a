/* test_key.c: unit tests for lib/key.c: what changes a key and what does
 * not, hex forms, and the selection of environment variables. */
#include "unit.h"

#include "key.h"

/* A complete set of parts pointing into its own arrays, so that a test can
 * change one field of a copy without touching another's. */
struct fixture {
	char *argv[2];
	pk_input inputs[2];
	pk_envvar env[2];
	char *outputs[2];
	pk_key_parts p;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->argv[0] = "backup";
	f->argv[1] = "--all";
	f->inputs[0].path = "in/a.txt";
	f->inputs[0].present = 1;
	memset(f->inputs[0].hash, 0xa1, 16);
	f->inputs[1].path = "in/b.txt";
	f->inputs[1].present = 1;
	memset(f->inputs[1].hash, 0xb2, 16);
	f->env[0].name = "LANG";
	f->env[0].value = "C";
	f->env[1].name = "TZ";
	f->env[1].value = NULL;
	f->outputs[0] = "out/report.csv";
	f->outputs[1] = "out/summary.txt";
	f->p.argc = 2;
	f->p.argv = f->argv;
	f->p.program = "/usr/bin/backup";
	f->p.program_check = PK_PROGRAM_MTIME;
	f->p.program_size = 12345;
	f->p.program_mtime_ns = 1700000000123456789LL;
	f->p.ninputs = 2;
	f->p.inputs = f->inputs;
	f->p.nenv = 2;
	f->p.env = f->env;
	f->p.cwd = "/srv/jobs";
	f->p.has_stdin = 1;
	memset(f->p.stdin_hash, 0x5d, 16);
	f->p.extra = "nightly";
	f->p.noutputs = 2;
	f->p.outputs = f->outputs;
	f->p.cache_failures = 0;
}

static void key_of(const struct fixture *f, pk_key *key)
{
	memset(key, 0, sizeof(*key));
	pk_key_compute(&f->p, key);
}

static int key_equal(const pk_key *a, const pk_key *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* Key of a bare command line (nothing but argv). */
static void key_of_argv(char **argv, size_t argc, pk_key *key)
{
	pk_key_parts p;
	memset(&p, 0, sizeof(p));
	p.argc = argc;
	p.argv = argv;
	p.program_check = PK_PROGRAM_NONE;
	pk_key_compute(&p, key);
}

static void test_argv_boundaries_count(void **state)
{
	char *one[] = { "a b" };
	char *two[] = { "a", "b" };
	char *joined[] = { "ab" };
	char *with_empty[] = { "a", "" };
	char *without[] = { "a" };
	char *empty_only[] = { "" };
	pk_key k1, k2, k3, k4, k5, k6, k7;
	(void)state;

	key_of_argv(one, 1, &k1);
	key_of_argv(two, 2, &k2);
	key_of_argv(joined, 1, &k3);
	key_of_argv(with_empty, 2, &k4);
	key_of_argv(without, 1, &k5);
	key_of_argv(empty_only, 1, &k6);
	key_of_argv(NULL, 0, &k7);
	assert_false(key_equal(&k1, &k2)); /* ["a b"] vs ["a","b"] */
	assert_false(key_equal(&k2, &k3)); /* ["a","b"] vs ["ab"] */
	assert_false(key_equal(&k4, &k5)); /* a trailing empty argument counts */
	assert_false(key_equal(&k6, &k7)); /* [""] vs [] */
}

static void test_same_parts_same_key(void **state)
{
	struct fixture a, b;
	pk_key ka, kb, again;
	char arg0[] = "backup", arg1[] = "--all";
	(void)state;

	fixture_init(&a);
	fixture_init(&b);
	/* Equal strings at other addresses. */
	b.argv[0] = arg0;
	b.argv[1] = arg1;
	key_of(&a, &ka);
	key_of(&b, &kb);
	key_of(&a, &again);
	assert_true(key_equal(&ka, &kb));
	assert_true(key_equal(&ka, &again));
}

/* Known answer: the encoding is part of the cache format.  If this changes
 * on purpose, bump KEY_VERSION in lib/key.c and update the digest here. */
static void test_known_answer(void **state)
{
	struct fixture f;
	pk_key k;
	char hex[PK_KEY_HEX + 1];
	(void)state;

	fixture_init(&f);
	key_of(&f, &k);
	pk_key_hex(&k, hex);
	assert_string_equal(hex, "804e415d990afb78f12bb9b319a22f7e");
}

static void mut_argv(struct fixture *f)
{
	f->argv[1] = "--al";
}
static void mut_argc(struct fixture *f)
{
	f->p.argc = 1;
}
static void mut_program(struct fixture *f)
{
	f->p.program = "/usr/local/bin/backup";
}
static void mut_program_size(struct fixture *f)
{
	f->p.program_size++;
}
static void mut_program_mtime(struct fixture *f)
{
	f->p.program_mtime_ns++;
}
static void mut_program_check(struct fixture *f)
{
	f->p.program_check = PK_PROGRAM_CONTENT;
}
static void mut_program_none(struct fixture *f)
{
	f->p.program_check = PK_PROGRAM_NONE;
}
static void mut_input_path(struct fixture *f)
{
	f->inputs[1].path = "in/c.txt";
}
static void mut_input_hash(struct fixture *f)
{
	f->inputs[1].hash[15] ^= 1;
}
static void mut_input_absent(struct fixture *f)
{
	f->inputs[0].present = 0;
}
static void mut_input_dropped(struct fixture *f)
{
	f->p.ninputs = 1;
}
static void mut_env_name(struct fixture *f)
{
	f->env[0].name = "LANGUAGE";
}
static void mut_env_value(struct fixture *f)
{
	f->env[0].value = "C.UTF-8";
}
static void mut_env_unset_to_empty(struct fixture *f)
{
	f->env[1].value = "";
}
static void mut_env_empty_to_unset(struct fixture *f)
{
	f->env[0].value = NULL;
}
static void mut_cwd(struct fixture *f)
{
	f->p.cwd = "/srv/job";
}
static void mut_cwd_none(struct fixture *f)
{
	f->p.cwd = NULL;
}
static void mut_no_stdin(struct fixture *f)
{
	f->p.has_stdin = 0;
}
static void mut_stdin_hash(struct fixture *f)
{
	f->p.stdin_hash[0] ^= 0x80;
}
static void mut_extra(struct fixture *f)
{
	f->p.extra = "nightlY";
}
static void mut_extra_none(struct fixture *f)
{
	f->p.extra = NULL;
}
static void mut_extra_empty(struct fixture *f)
{
	f->p.extra = "";
}
static void mut_output(struct fixture *f)
{
	f->outputs[1] = "out/summary.txt2";
}
static void mut_output_order(struct fixture *f)
{
	char *t = f->outputs[0];
	f->outputs[0] = f->outputs[1];
	f->outputs[1] = t;
}
static void mut_outputs_dropped(struct fixture *f)
{
	f->p.noutputs = 0;
}
static void mut_cache_failures(struct fixture *f)
{
	f->p.cache_failures = 1;
}

static void test_every_field_changes_key(void **state)
{
	static const struct {
		const char *name;
		void (*mutate)(struct fixture *);
	} muts[] = {
		{ "argv", mut_argv },
		{ "argc", mut_argc },
		{ "program path", mut_program },
		{ "program size", mut_program_size },
		{ "program mtime", mut_program_mtime },
		{ "program check", mut_program_check },
		{ "program check none", mut_program_none },
		{ "input path", mut_input_path },
		{ "input hash", mut_input_hash },
		{ "input present flag", mut_input_absent },
		{ "input dropped", mut_input_dropped },
		{ "env name", mut_env_name },
		{ "env value", mut_env_value },
		{ "env NULL -> \"\"", mut_env_unset_to_empty },
		{ "env \"C\" -> NULL", mut_env_empty_to_unset },
		{ "cwd", mut_cwd },
		{ "cwd NULL", mut_cwd_none },
		{ "has_stdin", mut_no_stdin },
		{ "stdin hash", mut_stdin_hash },
		{ "extra", mut_extra },
		{ "extra NULL", mut_extra_none },
		{ "extra \"\"", mut_extra_empty },
		{ "output path", mut_output },
		{ "output order", mut_output_order },
		{ "outputs dropped", mut_outputs_dropped },
		{ "cache_failures", mut_cache_failures },
	};
	struct fixture f;
	pk_key base, k;
	(void)state;

	fixture_init(&f);
	key_of(&f, &base);
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		fixture_init(&f);
		muts[i].mutate(&f);
		key_of(&f, &k);
		if (key_equal(&base, &k))
			fail_msg("changing %s leaves the key unchanged", muts[i].name);
	}
}

/* Pairs of changes that must not be told apart. */
static void test_fields_that_do_not_count(void **state)
{
	struct fixture f;
	pk_key base, k;
	(void)state;

	/* An absent input's hash bytes are meaningless. */
	fixture_init(&f);
	f.inputs[0].present = 0;
	key_of(&f, &base);
	memset(f.inputs[0].hash, 0x77, 16);
	key_of(&f, &k);
	assert_true(key_equal(&base, &k));

	/* cache_failures is a flag, not a number. */
	fixture_init(&f);
	f.p.cache_failures = 1;
	key_of(&f, &base);
	f.p.cache_failures = 2;
	key_of(&f, &k);
	assert_true(key_equal(&base, &k));

	/* Without stdin, the stdin hash bytes are meaningless. */
	fixture_init(&f);
	f.p.has_stdin = 0;
	key_of(&f, &base);
	memset(f.p.stdin_hash, 0, 16);
	key_of(&f, &k);
	assert_true(key_equal(&base, &k));

	/* With PK_PROGRAM_NONE only argv stands for the program. */
	fixture_init(&f);
	f.p.program_check = PK_PROGRAM_NONE;
	key_of(&f, &base);
	f.p.program = "/elsewhere/backup";
	f.p.program_size = 1;
	f.p.program_mtime_ns = 2;
	key_of(&f, &k);
	assert_true(key_equal(&base, &k));

	/* With PK_PROGRAM_MTIME the content hash is not consulted... */
	fixture_init(&f);
	key_of(&f, &base);
	memset(f.p.program_hash, 0xee, 16);
	key_of(&f, &k);
	assert_true(key_equal(&base, &k));

	/* ...and with PK_PROGRAM_CONTENT neither are size and mtime. */
	fixture_init(&f);
	f.p.program_check = PK_PROGRAM_CONTENT;
	key_of(&f, &base);
	f.p.program_size = 1;
	f.p.program_mtime_ns = 2;
	key_of(&f, &k);
	assert_true(key_equal(&base, &k));
	f.p.program_hash[3] ^= 1;
	key_of(&f, &k);
	assert_false(key_equal(&base, &k));
}

static void test_hex_round_trip(void **state)
{
	pk_key k, back;
	char hex[PK_KEY_HEX + 1];
	(void)state;

	for (int i = 0; i < 16; i++)
		k.bytes[i] = (unsigned char)(i * 17 + 10);
	memset(hex, 'X', sizeof(hex));
	pk_key_hex(&k, hex);
	assert_string_equal(hex, "0a1b2c3d4e5f708192a3b4c5d6e7f809");
	memset(&back, 0, sizeof(back));
	assert_int_equal(pk_key_from_hex(hex, &back), 0);
	assert_memory_equal(back.bytes, k.bytes, 16);

	/* Upper case reads the same. */
	memset(&back, 0, sizeof(back));
	assert_int_equal(pk_key_from_hex("0A1B2C3D4E5F708192A3B4C5D6E7F809", &back), 0);
	assert_memory_equal(back.bytes, k.bytes, 16);
}

static void test_from_hex_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"0a1b2c3d4e5f708192a3b4c5d6e7f80",   /* 31 digits */
		"0a1b2c3d4e5f708192a3b4c5d6e7f8090", /* 33 digits */
		"0a1b2c3d4e5f708192a3b4c5d6e7f80g",
		"0a1b2c3d4e5f708192a3b4c5d6e7f80 ",
		"../../../../../../../etc/passwd0",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pk_key k;
		if (pk_key_from_hex(bad[i], &k) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	}
}

static void test_is_prefix(void **state)
{
	static const char *const good[] = {
		"0a3F",
		"0",
		"f",
		"0a1b2c3d4e5f708192a3b4c5d6e7f809",
	};
	static const char *const bad[] = {
		"",      "xyz", "../",  "0a1b2c3d4e5f708192a3b4c5d6e7f8090",
		"0a3F ", "-1",  "0a/3", "0x1f",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (pk_key_is_prefix(good[i]) != 1)
			fail_msg("\"%s\" rejected", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pk_key_is_prefix(bad[i]) != 0)
			fail_msg("\"%s\" accepted", bad[i]);
}

static void free_env(pk_envvar *v, size_t n)
{
	pk_key_parts p;
	memset(&p, 0, sizeof(p));
	p.env = v;
	p.nenv = n;
	pk_key_parts_free(&p);
}

static void test_select_env_plain_names(void **state)
{
	char *envp[] = { "HOME=/root", "EMPTY=", "PATH=/bin", NULL };
	char *names[] = { "PATH", "UNSET_VAR", "EMPTY" };
	pk_envvar *v = NULL;
	size_t n = 99;
	(void)state;

	assert_int_equal(pk_key_select_env(names, 3, envp, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "EMPTY");
	assert_non_null(v[0].value);
	assert_string_equal(v[0].value, "");
	assert_string_equal(v[1].name, "PATH");
	assert_string_equal(v[1].value, "/bin");
	assert_string_equal(v[2].name, "UNSET_VAR");
	assert_null(v[2].value);
	free_env(v, n);
}

static void test_select_env_glob(void **state)
{
	char *envp[] = {
		"LC_TIME=C",      "HOME=/root",    "LC_ALL=en_US.UTF-8", "LANG=C", "LC_CTYPE=",
		"NO_EQUALS_SIGN", "XLC_NUMERIC=1", "LC_X=a=b",           NULL,
	};
	char *names[] = { "TZ", "LC_*", "LANG", "LC_ALL", "TZ", "NOMATCH_*" };
	pk_envvar *v = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(pk_key_select_env(names, 6, envp, &v, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(v[0].name, "LANG");
	assert_string_equal(v[0].value, "C");
	assert_string_equal(v[1].name, "LC_ALL");
	assert_string_equal(v[1].value, "en_US.UTF-8");
	assert_string_equal(v[2].name, "LC_CTYPE");
	assert_string_equal(v[2].value, "");
	assert_string_equal(v[3].name, "LC_TIME");
	assert_string_equal(v[3].value, "C");
	assert_string_equal(v[4].name, "LC_X");
	assert_string_equal(v[4].value, "a=b");
	assert_string_equal(v[5].name, "TZ");
	assert_null(v[5].value);
	free_env(v, n);
}

static void test_select_env_nothing(void **state)
{
	char *envp[] = { "A=1", NULL };
	char *names[] = { "B*" };
	pk_envvar *v = NULL;
	size_t n = 7;
	(void)state;

	assert_int_equal(pk_key_select_env(names, 1, envp, &v, &n), 0);
	assert_int_equal(n, 0);
	free_env(v, n);
	assert_int_equal(pk_key_select_env(NULL, 0, envp, &v, &n), 0);
	assert_int_equal(n, 0);
	free_env(v, n);
}

/* The selected values feed the key: an unset variable and an empty one
 * give different keys. */
static void test_select_env_unset_vs_empty_key(void **state)
{
	char *set_empty[] = { "TZ=", NULL };
	char *unset[] = { "OTHER=1", NULL };
	char *names[] = { "TZ" };
	char *argv[] = { "date" };
	pk_key_parts p;
	pk_key k1, k2;
	(void)state;

	memset(&p, 0, sizeof(p));
	p.argc = 1;
	p.argv = argv;
	assert_int_equal(pk_key_select_env(names, 1, set_empty, &p.env, &p.nenv), 0);
	pk_key_compute(&p, &k1);
	free_env(p.env, p.nenv);
	assert_int_equal(pk_key_select_env(names, 1, unset, &p.env, &p.nenv), 0);
	assert_int_equal(p.nenv, 1);
	assert_null(p.env[0].value);
	pk_key_compute(&p, &k2);
	free_env(p.env, p.nenv);
	assert_false(key_equal(&k1, &k2));
}

static void test_parts_free(void **state)
{
	pk_key_parts p;
	(void)state;

	pk_key_parts_free(NULL);
	memset(&p, 0, sizeof(p));
	p.argc = 1;
	p.argv = calloc(1, sizeof(char *));
	assert_non_null(p.argv);
	p.argv[0] = strdup("x");
	p.program = strdup("/bin/x");
	p.cwd = strdup("/");
	p.has_stdin = 1;
	pk_key_parts_free(&p);
	assert_int_equal(p.argc, 0);
	assert_null(p.argv);
	assert_null(p.program);
	assert_int_equal(p.has_stdin, 0);
	pk_key_parts_free(&p); /* a zeroed parts is fine */
}

/* run_make_key sets the counts before the copies: when the argv or the
 * outputs array cannot be allocated, the parts hold a count and no array,
 * and freeing them must not crash (found by tests/faults, an allocation
 * failing there). */
static void test_parts_free_counts_without_arrays(void **state)
{
	pk_key_parts p;
	(void)state;

	memset(&p, 0, sizeof(p));
	p.argc = 3;
	p.noutputs = 2;
	p.program = strdup("/bin/x");
	pk_key_parts_free(&p);
	assert_int_equal(p.argc, 0);
	assert_int_equal(p.noutputs, 0);
	assert_null(p.program);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_boundaries_count),
		cmocka_unit_test(test_same_parts_same_key),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_every_field_changes_key),
		cmocka_unit_test(test_fields_that_do_not_count),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_from_hex_rejects),
		cmocka_unit_test(test_is_prefix),
		cmocka_unit_test(test_select_env_plain_names),
		cmocka_unit_test(test_select_env_glob),
		cmocka_unit_test(test_select_env_nothing),
		cmocka_unit_test(test_select_env_unset_vs_empty_key),
		cmocka_unit_test(test_parts_free),
		cmocka_unit_test(test_parts_free_counts_without_arrays),
	};
	return cmocka_run_group_tests_name("key", tests, NULL, NULL);
}
