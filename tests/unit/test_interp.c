/* test_interp.c: unit tests for lib/interp.c: which argument is the script
 * an interpreter runs, and when there is none (code given with -c or -e,
 * a module, stdin). */
#include "unit.h"

#include "interp.h"

/* Each case: a command line (words split at spaces), the index of the
 * script in it or -1, and the index of the interpreter. */
static void test_script_argument(void **state)
{
	static const struct {
		const char *line;
		long script;
		size_t interp;
	} cases[] = {
		{ "python3 train.py --alpha 1", 1, 0 },
		{ "/usr/bin/python3.11 -u -W ignore train.py", 4, 0 },
		{ "python3 -Wignore train.py", 2, 0 },
		{ "python3 -c print(1)", -1, 0 },
		{ "python3 -uc print(1)", -1, 0 },
		{ "python3 -m http.server", -1, 0 },
		{ "python3 - x", -1, 0 },
		{ "python3", -1, 0 },
		{ "pypy3 a.py", 1, 0 },
		{ "perl -w report.pl", 2, 0 },
		{ "perl -ne print", -1, 0 },
		{ "ruby -I lib job.rb", 3, 0 },
		{ "ruby -e puts", -1, 0 },
		{ "node -r dotenv/config app.js", 3, 0 },
		{ "node --require=x app.js", 2, 0 },
		{ "node --eval 1", -1, 0 },
		{ "sh job.sh", 1, 0 },
		{ "sh -ec true", -1, 0 },
		{ "bash -o pipefail -- job.sh", 4, 0 },
		{ "bash +o posix job.sh", 3, 0 },
		{ "bash --rcfile rc job.sh", 3, 0 },
		{ "dash -s", -1, 0 },
		{ "zsh -f job.zsh", 2, 0 },
		{ "env -i TZ=UTC python3 a.py", 4, 3 },
		{ "/usr/bin/env -u HOME python3 a.py", 4, 3 },
		{ "env python3", -1, 3 },
		{ "./train.py", -1, 0 },
		{ "shellcheck a.sh", -1, 0 },
		{ "pythonista a.py", 1, 0 }, /* python*: a name beginning so */
		{ "cat a.py", -1, 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256], *argv[16], *save = NULL;
		size_t argc = 0, interp = 99;
		long got;

		snprintf(buf, sizeof(buf), "%s", cases[i].line);
		for (char *w = strtok_r(buf, " ", &save); w != NULL && argc < 15;
		     w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		argv[argc] = NULL;
		got = pk_interp_script(argv, argc, &interp);
		if (got != cases[i].script)
			fail_msg("%s: script at %ld, want %ld", cases[i].line, got,
			         cases[i].script);
		if (got >= 0 && interp != cases[i].interp)
			fail_msg("%s: interpreter at %zu, want %zu", cases[i].line, interp,
			         cases[i].interp);
	}
}

/* The script is keyed when an input is the same file, by any path. */
static void test_script_keyed(void **state)
{
	char *dir = unit_tmpdir();
	char path[4200], other[4200];
	pk_input in = { 0 };
	pk_key_parts p = { 0 };
	struct stat st;
	(void)state;

	snprintf(path, sizeof(path), "%s/train.py", dir);
	snprintf(other, sizeof(other), "%s/./train.py", dir);
	unit_write_file(path, "print(1)\n", 9, 0644);
	assert_int_equal(stat(path, &st), 0);
	p.inputs = &in;
	p.ninputs = 1;
	in.path = other;
	in.present = 1;
	in.dev = (uint64_t)st.st_dev;
	in.ino = (uint64_t)st.st_ino;
	assert_int_equal(pk_interp_script_keyed(&p, path), 1);
	in.ino++;
	assert_int_equal(pk_interp_script_keyed(&p, path), 0);
	in.ino--;
	in.present = 0;
	assert_int_equal(pk_interp_script_keyed(&p, path), 0);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script_argument),
		cmocka_unit_test(test_script_keyed),
	};
	return cmocka_run_group_tests_name("interp", tests, NULL, NULL);
}
