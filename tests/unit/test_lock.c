/* test_lock.c: unit tests for lib/lock.c: one holder at a time, a bounded
 * wait, and a lock that passes on when its holder goes. */
#include "unit.h"

#include "lock.h"

#include <sys/wait.h>
#include <time.h>

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

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* flock(2) locks belong to open file descriptions, so a second
 * pk_lock_acquire in the same process contends with the first. */
static void test_second_acquire_would_block(void **state)
{
	char *path = unit_path(*state, "key.lock");
	pk_error err = { 0, "" };
	struct stat st;
	int fd, fd2;

	fd = pk_lock_acquire(path, 0, &err);
	if (fd < 0)
		fail_msg("acquire: %s", err.msg);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	fd2 = pk_lock_acquire(path, 0, &err);
	assert_int_equal(fd2, -1);
	assert_int_equal(err.errnum, EWOULDBLOCK);

	pk_lock_release(fd);
	fd2 = pk_lock_acquire(path, 0, &err);
	if (fd2 < 0)
		fail_msg("acquire after release: %s", err.msg);
	pk_lock_release(fd2);
	pk_lock_release(-1);
	free(path);
}

static void test_timeout_is_waited(void **state)
{
	char *path = unit_path(*state, "key.lock");
	pk_error err = { 0, "" };
	int fd = pk_lock_acquire(path, 0, &err);
	int64_t start, waited;

	assert_true(fd >= 0);
	start = mono_ms();
	assert_int_equal(pk_lock_acquire(path, 300, &err), -1);
	waited = mono_ms() - start;
	assert_int_equal(err.errnum, EWOULDBLOCK);
	if (waited < 300 || waited > 3000)
		fail_msg("gave up after %lld ms for a 300 ms timeout", (long long)waited);
	pk_lock_release(fd);
	free(path);
}

/* A child takes the lock, tells us, holds it 200 ms and exits without
 * releasing it: the kernel does, and the waiter gets it. */
static void test_waiter_gets_lock_when_holder_exits(void **state)
{
	char *path = unit_path(*state, "key.lock");
	pk_error err = { 0, "" };
	int p[2], fd, status;
	int64_t start, waited;
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec ts = { 0, 200 * 1000000L };
		int cfd = pk_lock_acquire(path, 0, NULL);
		if (write(p[1], cfd >= 0 ? "y" : "n", 1) != 1)
			_exit(2);
		nanosleep(&ts, NULL);
		_exit(cfd >= 0 ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'y');
	assert_int_equal(pk_lock_acquire(path, 0, &err), -1);
	assert_int_equal(err.errnum, EWOULDBLOCK);
	start = mono_ms();
	fd = pk_lock_acquire(path, 10000, &err);
	waited = mono_ms() - start;
	if (fd < 0)
		fail_msg("acquire with wait: %s", err.msg);
	if (waited > 5000)
		fail_msg("took %lld ms to notice the release", (long long)waited);
	pk_lock_release(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(path);
}

static void test_unusable_path(void **state)
{
	char *path = unit_path(*state, "missing/key.lock");
	pk_error err = { 0, "" };

	assert_int_equal(pk_lock_acquire(path, 1000, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, path));
	free(path);
}

/* A symbolic link is not followed to a lock file elsewhere. */
static void test_symlink_refused(void **state)
{
	char *path = unit_path(*state, "key.lock"), *target = unit_path(*state, "target");
	pk_error err = { 0, "" };

	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(pk_lock_acquire(path, 0, &err), -1);
	assert_int_equal(err.errnum, ELOOP);
	assert_int_equal(access(target, F_OK), -1);
	free(path);
	free(target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_second_acquire_would_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_is_waited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiter_gets_lock_when_holder_exits, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_unusable_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("lock", tests, NULL, NULL);
}
