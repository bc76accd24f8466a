/* test_seal.c: unit tests for lib/seal.c (entries authenticated with the
 * fleet's secret) and the secret-file rules of lib/trust.c. */
#include "unit.h"

#include "entry.h"
#include "seal.h"
#include "trust.h"

/* A small sound entry in a new file of dir; returns its fd and size. */
static int make_entry(const char *dir, uint64_t *size)
{
	pk_error err = { 0, "" };
	char *argv[] = { "job" };
	char *path = unit_path(dir, "entry");
	pk_meta m;
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pk_entry_writer *w;

	assert_true(fd >= 0);
	w = pk_entry_writer_new(fd, 1, 0, &err);
	assert_non_null(w);
	assert_int_equal(pk_entry_writer_stdio(w, PK_STDOUT, "hello\n", 6, &err), 0);
	memset(&m, 0, sizeof(m));
	memset(m.key.bytes, 0x42, 16);
	m.parts.argc = 1;
	m.parts.argv = argv;
	assert_int_equal(pk_entry_writer_finish(w, &m, &err), 0);
	pk_entry_writer_free(w);
	assert_int_equal(fstat(fd, &st), 0);
	*size = (uint64_t)st.st_size;
	free(path);
	return fd;
}

/* The secret file of dir: 32 bytes of value v, mode 0600. */
static char *make_secret(const char *dir, const char *name, unsigned char v)
{
	unsigned char b[32];
	char *path = unit_path(dir, name);

	memset(b, v, sizeof(b));
	unit_write_file(path, b, sizeof(b), 0600);
	return path;
}

static void test_seal_round_trip_and_tamper(void **state)
{
	char *dir = unit_tmpdir(), *s1 = make_secret(dir, "s1", 1), *s2 = make_secret(dir, "s2", 2);
	unsigned char k1[PK_SEAL_KEY], k2[PK_SEAL_KEY], trailer[PK_SEAL_TRAILER], header[64];
	pk_error err = { 0, "" };
	uint64_t size;
	int fd = make_entry(dir, &size);

	(void)state;
	assert_int_equal(pk_seal_key_load(s1, k1, &err), 0);
	assert_int_equal(pk_seal_key_load(s2, k2, &err), 0);
	assert_int_equal(pk_seal_trailer(fd, size, k1, trailer, &err), 0);
	assert_int_equal(pwrite(fd, trailer, sizeof(trailer), (off_t)size),
	                 (ssize_t)sizeof(trailer));
	/* Another key: refused, and the value is left as it was. */
	assert_int_equal(pk_seal_open(fd, size + PK_SEAL_TRAILER, k2, &err), -1);
	assert_int_equal(err.errnum, 0);
	/* One flipped byte anywhere in the entry: refused. */
	for (uint64_t off = 0; off < size; off += 7) {
		unsigned char c;
		assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
		c ^= 0x01;
		assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
		if (pk_seal_open(fd, size + PK_SEAL_TRAILER, k1, &err) == 0)
			fail_msg("a flipped byte at %llu was accepted", (unsigned long long)off);
		c ^= 0x01;
		assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
	}
	/* The metadata tag alone, as ls --remote checks it. */
	assert_int_equal(pread(fd, header, sizeof(header), 0), (ssize_t)sizeof(header));
	{
		uint64_t ml = 0;
		for (int i = 0; i < 8; i++)
			ml |= (uint64_t)header[32 + i] << (8 * i);
		unsigned char *meta = malloc(ml);
		assert_non_null(meta);
		assert_int_equal(pread(fd, meta, ml, (off_t)(size - ml)), (ssize_t)ml);
		assert_int_equal(pk_seal_check_meta(header, meta, ml, trailer, k1), 0);
		assert_int_equal(pk_seal_check_meta(header, meta, ml, trailer, k2), -1);
		free(meta);
	}
	/* The right key: accepted, and the trailer is cut off. */
	assert_int_equal(pk_seal_open(fd, size + PK_SEAL_TRAILER, k1, &err), 0);
	{
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		assert_true((uint64_t)st.st_size == size);
	}
	/* An unsealed entry: refused. */
	assert_int_equal(pk_seal_open(fd, size, k1, &err), -1);
	close(fd);
	free(s1);
	free(s2);
	unit_rmtree(dir);
}

static void test_secret_file_rules(void **state)
{
	char *dir = unit_tmpdir(), *ok = make_secret(dir, "ok", 3);
	char *open_mode = make_secret(dir, "open", 4), *link = unit_path(dir, "link");
	char *shortf = unit_path(dir, "short");
	unsigned char k[PK_SEAL_KEY];
	pk_error err = { 0, "" };

	(void)state;
	unit_write_file(shortf, "0123456789012345678901234567890", 31, 0600);
	assert_int_equal(chmod(open_mode, 0640), 0);
	assert_int_equal(symlink(ok, link), 0);
	assert_int_equal(pk_seal_key_load(ok, k, &err), 0);
	assert_int_equal(pk_seal_key_load(shortf, k, &err), -1);
	assert_non_null(strstr(err.msg, "31 bytes, expected 32 to 4096"));
	assert_int_equal(pk_seal_key_load(open_mode, k, &err), -1);
	assert_non_null(strstr(err.msg, "(mode 0640)"));
	assert_int_equal(pk_seal_key_load(link, k, &err), -1);
	assert_int_equal(err.errnum, ELOOP);
	free(ok);
	free(open_mode);
	free(link);
	free(shortf);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_round_trip_and_tamper),
		cmocka_unit_test(test_secret_file_rules),
	};
	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
