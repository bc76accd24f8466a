/* test_program.c: unit tests for lib/program.c: PATH lookup as execvp does
 * it, with the errors the shell turns into 127 and 126, and the program's
 * description for the key. */
#include "unit.h"

#include "inputs.h"
#include "program.h"

static int setup(void **state)
{
	*state = unit_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	unit_rmtree(*state);
	return 0;
}

/* Resolves name and asserts the result. */
static void assert_resolves(const char *name, const char *path_env, const char *want)
{
	pk_error err = { 0, "" };
	char *path = NULL;

	if (pk_program_resolve(name, path_env, &path, &err) != 0)
		fail_msg("%s in %s: %s", name, path_env ? path_env : "(default)", err.msg);
	assert_string_equal(path, want);
	free(path);
}

static void assert_fails(const char *name, const char *path_env, int errnum)
{
	pk_error err = { 0, "" };
	char *path = NULL;

	if (pk_program_resolve(name, path_env, &path, &err) != -1)
		fail_msg("%s in %s: found %s", name, path_env ? path_env : "(default)", path);
	if (err.errnum != errnum)
		fail_msg("%s: errnum %d (%s), want %d", name, err.errnum, strerror(err.errnum),
		         errnum);
	assert_null(path);
}

static void test_found_in_path(void **state)
{
	(void)state;
	assert_resolves("sh", "/nonexistent:/bin", "/bin/sh");
	assert_resolves("sh", "/bin:/nonexistent", "/bin/sh");
}

static void test_default_path(void **state)
{
	pk_error err = { 0, "" };
	char *path = NULL;
	size_t n;
	(void)state;

	assert_int_equal(pk_program_resolve("sh", NULL, &path, &err), 0);
	n = strlen(path);
	assert_true(n > 3 && strcmp(path + n - 3, "/sh") == 0);
	assert_int_equal(access(path, X_OK), 0);
	free(path);
}

static void test_not_found(void **state)
{
	(void)state;
	assert_fails("pickled-no-such-program", "/nonexistent:/bin", ENOENT);
	assert_fails("", "/bin", ENOENT);
	assert_fails("/nonexistent/sh", "/bin", ENOENT);
	assert_fails("/bin/sh/x", "/bin", ENOENT);
}

static void test_not_executable(void **state)
{
	const char *dir = *state;
	char *tool = unit_path(dir, "tool");

	unit_write_file(tool, "#!/bin/sh\n", 10, 0644);
	assert_fails("tool", dir, EACCES);
	assert_fails(tool, NULL, EACCES); /* given with a '/' */
	assert_fails(dir, NULL, EACCES);  /* a folder */
	free(tool);
}

/* As execvp: a file that cannot be executed does not hide one further
 * along PATH, and a folder of that name is skipped. */
static void test_later_executable_wins(void **state)
{
	const char *dir = *state;
	char *a = unit_path(dir, "a"), *b = unit_path(dir, "b"), *c = unit_path(dir, "c");
	char *a_tool = unit_path(a, "tool"), *b_tool = unit_path(b, "tool");
	char *c_tool = unit_path(c, "tool");
	char path_env[4096];

	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	assert_int_equal(mkdir(c, 0700), 0);
	unit_write_file(a_tool, "#!/bin/sh\n", 10, 0644);
	assert_int_equal(mkdir(b_tool, 0755), 0);
	unit_write_file(c_tool, "#!/bin/sh\n", 10, 0755);
	assert_true(snprintf(path_env, sizeof(path_env), "%s:%s:%s", a, b, c) > 0);
	assert_resolves("tool", path_env, c_tool);
	free(a);
	free(b);
	free(c);
	free(a_tool);
	free(b_tool);
	free(c_tool);
}

/* An empty PATH element is the current directory; whatever is found
 * through a relative path gets the working directory in front, so that
 * ./tool in two folders are two programs to the key. */
static void test_relative_is_made_absolute(void **state)
{
	const char *dir = *state;
	char *tool = unit_path(dir, "tool"), *sub = unit_path(dir, "sub");
	char *real = realpath(dir, NULL), *want, up[4200];
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(cwd >= 0);
	assert_non_null(real);
	want = unit_path(real, "tool");
	unit_write_file(tool, "#!/bin/sh\n", 10, 0755);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chdir(dir), 0);
	assert_resolves("tool", "/nonexistent:", want);
	assert_resolves("tool", ":/nonexistent", want);
	assert_resolves("tool", ".", want);
	assert_resolves("./tool", NULL, want);
	assert_resolves("././tool", NULL, want);
	assert_resolves(tool, NULL, tool);
	assert_int_equal(chdir(sub), 0);
	snprintf(up, sizeof(up), "%s/sub/../tool", real);
	assert_resolves("../tool", NULL, up);
	assert_resolves("tool", "..", up);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	free(tool);
	free(sub);
	free(real);
	free(want);
}

static void test_describe(void **state)
{
	const char *dir = *state;
	char *tool = unit_path(dir, "tool");
	pk_key_parts p;
	pk_error err = { 0, "" };
	struct stat st;
	unsigned char want[16];

	unit_write_file(tool, "#!/bin/sh\necho tool\n", 20, 0755);
	assert_int_equal(stat(tool, &st), 0);
	memset(&p, 0, sizeof(p));
	p.program = tool;

	p.program_check = PK_PROGRAM_MTIME;
	assert_int_equal(pk_program_describe(&p, NULL, &err), 0);
	assert_true(p.program_size == 20);
	assert_true(p.program_mtime_ns ==
	            (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);

	memset(&p, 0, sizeof(p));
	p.program = tool;
	p.program_check = PK_PROGRAM_CONTENT;
	assert_int_equal(pk_program_describe(&p, NULL, &err), 0);
	assert_int_equal(pk_hash_file(NULL, tool, want, &err), 0);
	assert_memory_equal(p.program_hash, want, 16);

	/* PK_PROGRAM_NONE leaves everything alone. */
	memset(&p, 0, sizeof(p));
	p.program = tool;
	p.program_check = PK_PROGRAM_NONE;
	p.program_size = 77;
	assert_int_equal(pk_program_describe(&p, NULL, &err), 0);
	assert_true(p.program_size == 77);

	/* A program that went away. */
	assert_int_equal(unlink(tool), 0);
	memset(&p, 0, sizeof(p));
	p.program = tool;
	p.program_check = PK_PROGRAM_CONTENT;
	assert_int_equal(pk_program_describe(&p, NULL, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	p.program_check = PK_PROGRAM_MTIME;
	assert_int_equal(pk_program_describe(&p, NULL, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	free(tool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_in_path),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test_setup_teardown(test_not_executable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_executable_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_is_made_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	};
	return cmocka_run_group_tests_name("program", tests, NULL, NULL);
}
