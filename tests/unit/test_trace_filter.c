/* test_trace_filter.c: unit tests for lib/trace_filter.c: the filter
 * libseccomp builds passes the check, and each kind of damage a failed
 * allocation inside libseccomp was seen to cause (rules missing, another
 * action) is caught by it. */
#include "unit.h"

#include "trace_calls.h"
#include "trace_filter.h"

#include <linux/seccomp.h>
#include <sys/syscall.h>

#define MAGIC 0x1234567887654321ULL

static struct sock_filter *built(unsigned short *len)
{
	struct sock_filter *prog = NULL;
	pk_error err = { 0 };

	if (pk_trace_filter_build(MAGIC, &prog, len, &err) < 0)
		fail_msg("build: %s", err.msg);
	return prog;
}

/* The index of the first "return k" instruction, or -1. */
static long find_ret(const struct sock_filter *prog, size_t len, uint32_t k)
{
	for (size_t i = 0; i < len; i++)
		if (prog[i].code == (BPF_RET | BPF_K) && prog[i].k == k)
			return (long)i;
	return -1;
}

static void test_built_filter_passes(void **state)
{
	unsigned short len;
	struct sock_filter *prog = built(&len);
	(void)state;
	assert_true(len > 0);
	assert_null(pk_trace_filter_check(prog, len, MAGIC));
	/* The same program is wrong for another run's number. */
	assert_string_equal(pk_trace_filter_check(prog, len, MAGIC ^ 4), "a watched call");
	free(prog);
}

/* The built filter with its first "return from" made "return to". */
static struct sock_filter *damaged(uint32_t from, uint32_t to, unsigned short *len)
{
	struct sock_filter *prog = built(len);
	long i = find_ret(prog, *len, from);
	assert_true(i >= 0);
	prog[i].k = to;
	return prog;
}

static void test_watched_rule_missing(void **state)
{
	unsigned short len;
	struct sock_filter *prog = damaged(SECCOMP_RET_TRACE | SYS_openat, SECCOMP_RET_ALLOW, &len);
	(void)state;
	assert_string_equal(pk_trace_filter_check(prog, len, MAGIC), "a watched call");
	free(prog);
}

static void test_other_action(void **state)
{
	unsigned short len;
	struct sock_filter *prog = damaged(SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS, &len);
	(void)state;
	assert_non_null(pk_trace_filter_check(prog, len, MAGIC));
	free(prog);
	prog = damaged(SECCOMP_RET_ERRNO | ENOSYS, SECCOMP_RET_ALLOW, &len);
	assert_string_equal(pk_trace_filter_check(prog, len, MAGIC), "another call");
	free(prog);
}

static void test_other_abi_let_through(void **state)
{
	unsigned short len;
	struct sock_filter *prog = built(&len);
	(void)state;
	for (long i; (i = find_ret(prog, len, SECCOMP_RET_TRACE | TRACE_TAG_BADARCH)) >= 0;)
		prog[i].k = SECCOMP_RET_ALLOW;
	const char *why = pk_trace_filter_check(prog, len, MAGIC);
	assert_non_null(why);
	assert_true(strcmp(why, "a 32-bit call") == 0 || strcmp(why, "an x32 call") == 0);
	free(prog);
}

static void test_malformed_programs(void **state)
{
	unsigned short len;
	struct sock_filter *prog = built(&len);
	(void)state;
	/* Cut short: runs off the end. */
	assert_non_null(pk_trace_filter_check(prog, 1, MAGIC));
	assert_non_null(pk_trace_filter_check(prog, 0, MAGIC));
	/* A jump past the end. */
	struct sock_filter jump[] = {
		BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	assert_non_null(pk_trace_filter_check(jump, 2, MAGIC));
	/* A load past struct seccomp_data. */
	struct sock_filter load[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	assert_non_null(pk_trace_filter_check(load, 2, MAGIC));
	free(prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_built_filter_passes),
		cmocka_unit_test(test_watched_rule_missing),
		cmocka_unit_test(test_other_action),
		cmocka_unit_test(test_other_abi_let_through),
		cmocka_unit_test(test_malformed_programs),
	};
	return cmocka_run_group_tests_name("trace_filter", tests, NULL, NULL);
}
