/* test_overlay.c: unit tests for lib/overlay.c and its use by
 * pk_config_apply: flags over a job over the configuration over the
 * defaults, each setting replaced only where a layer gives it, lists
 * added in that order. */
#include "unit.h"

#include "config.h"
#include "defaults.h"
#include "overlay.h"

static void test_flags_over_job_over_config(void **state)
{
	static const char conf[] = "ttl: 1d\n"
				   "stale: 1h\n"
				   "env: [TZ]\n"
				   "stdin: always\n"
				   "jobs:\n"
				   "  report:\n"
				   "    command: [report]\n"
				   "    ttl: 6h\n"
				   "    inputs: [/srv/a]\n"
				   "    env: [LANG]\n"
				   "    key: v2\n";
	char *dir = unit_tmpdir(), *path = unit_path(dir, "pickled.conf");
	char *in[] = { "/srv/b" };
	pk_overlay flags = { 0 };
	pk_run_opts o;
	pk_config c;

	(void)state;
	unit_write_file(path, conf, sizeof(conf) - 1, 0600);
	pk_config_init(&c);
	assert_int_equal(pk_config_read(&c, path, 0), 0);
	assert_int_equal(c.njobs, 1);

	/* The job over the configuration: its ttl, the top level's stale,
	 * stdin never (a job's default), lists after the top level's. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(pk_config_apply(&c, &c.jobs[0], &o), 0);
	assert_true(o.ttl_ms == 6 * 3600000LL);
	assert_true(o.stale_ms == 3600000LL);
	assert_int_equal(o.stdin_mode, PK_STDIN_NEVER);
	assert_true(o.stdin_limit == PK_DEFAULT_STDIN_LIMIT);
	assert_string_equal(o.extra, "v2");
	assert_int_equal(o.nenvs, 2);
	assert_string_equal(o.envs[0], "TZ");
	assert_string_equal(o.envs[1], "LANG");
	assert_null(o.envs[2]);

	/* The flags over both: only what they give. */
	flags.ttl_ms = 300000;
	pk_overlay_give(&flags, PK_SET_TTL);
	flags.stdin_mode = PK_STDIN_ALWAYS;
	pk_overlay_give(&flags, PK_SET_STDIN);
	flags.inputs.v = in;
	flags.inputs.n = 1;
	assert_int_equal(pk_overlay_apply(&flags, &o), 0);
	assert_true(o.ttl_ms == 300000);
	assert_true(o.stale_ms == 3600000LL);
	assert_int_equal(o.stdin_mode, PK_STDIN_ALWAYS);
	assert_string_equal(o.extra, "v2");
	assert_int_equal(o.ninputs, 2);
	assert_string_equal(o.inputs[0], "/srv/a");
	assert_string_equal(o.inputs[1], "/srv/b");
	assert_null(o.inputs[2]);
	free(o.inputs);
	free(o.envs);
	free(o.outputs);
	free(o.tags);

	/* No job: the configuration's stdin, nothing else added. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(pk_config_apply(&c, NULL, &o), 0);
	assert_int_equal(o.stdin_mode, PK_STDIN_ALWAYS);
	assert_true(o.ttl_ms == 86400000LL);
	assert_null(o.extra);
	assert_int_equal(o.ninputs, 0);
	assert_int_equal(o.nenvs, 1);
	free(o.envs);

	pk_config_free(&c);
	free(path);
	unit_rmtree(dir); /* frees dir */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags_over_job_over_config),
	};

	return cmocka_run_group_tests_name("overlay", tests, NULL, NULL);
}
