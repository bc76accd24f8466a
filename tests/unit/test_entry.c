/* test_entry.c: unit tests for lib/entry.c: an entry written chunk by chunk
 * replays the same bytes in the same order, restores its files, and is
 * refused whole when any byte of it is damaged or missing. */
#include "unit.h"

#include "entry.h"
#include "io.h"

#include <dirent.h>
#include <signal.h>

struct chunk {
	int stream;
	const void *data;
	size_t len;
};

struct outspec {
	const char *path;
	uint32_t mode;
	const void *data;
	size_t len;
};

/* Interleaved output with NUL bytes in both streams. */
static const struct chunk small_chunks[] = {
	{ PK_STDOUT, "hello\n", 6 }, { PK_STDERR, "warn\0ing\n", 9 },
	{ PK_STDOUT, "\0\0\0", 3 },  { PK_STDERR, "e2", 2 },
	{ PK_STDOUT, "", 0 },        { PK_STDOUT, "tail", 4 },
};
#define NSMALL (sizeof(small_chunks) / sizeof(small_chunks[0]))

static const struct outspec small_file = { "out.txt", 0640, "file\0content\n", 13 };

struct fixture {
	char *dir;
	int cwd; /* where the test started, to return to */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = unit_tmpdir();
	f->cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->cwd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (fchdir(f->cwd) < 0)
		return -1;
	close(f->cwd);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* Writes an entry into a new file at path; returns the file's size. */
static uint64_t write_entry(const char *dir, const char *path, const struct chunk *c, size_t nc,
                            const struct outspec *o, size_t no, int threads)
{
	pk_error err = { 0, "" };
	pk_outfile files[8];
	char *argv[] = { "job" };
	uint64_t out_bytes = 0, err_bytes = 0;
	pk_meta m;
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	pk_entry_writer *w;

	assert_true(fd >= 0);
	assert_true(no <= 8);
	w = pk_entry_writer_new(fd, 1, threads, &err);
	assert_non_null(w);
	for (size_t i = 0; i < nc; i++) {
		if (pk_entry_writer_stdio(w, c[i].stream, c[i].data, c[i].len, &err) != 0)
			fail_msg("chunk %zu: %s", i, err.msg);
		if (c[i].stream == PK_STDOUT)
			out_bytes += c[i].len;
		else
			err_bytes += c[i].len;
	}
	for (size_t i = 0; i < no; i++) {
		int src = unit_tmpfile(dir);
		uint64_t size = 12345;
		if (o[i].len > 0)
			assert_int_equal(pwrite(src, o[i].data, o[i].len, 0), (ssize_t)o[i].len);
		/* The writer reads from offset 0, wherever the file position is. */
		memset(&files[i], 0, sizeof(files[i]));
		assert_int_equal(pk_entry_writer_file(w, src, &size, files[i].sum, &err), 0);
		assert_true(size == o[i].len);
		close(src);
		files[i].path = strdup(o[i].path);
		assert_non_null(files[i].path);
		files[i].mode = o[i].mode;
		files[i].size = size;
		files[i].has_sum = 1;
	}
	memset(&m, 0, sizeof(m));
	memset(m.key.bytes, 0x42, 16);
	m.parts.argc = 1;
	m.parts.argv = argv;
	m.exit_status = 7;
	m.nfiles = no;
	m.files = files;
	assert_int_equal(pk_entry_writer_finish(w, &m, &err), 0);
	assert_true(m.stdout_bytes == out_bytes);
	assert_true(m.stderr_bytes == err_bytes);
	pk_entry_writer_free(w);
	for (size_t i = 0; i < no; i++)
		free(files[i].path);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	return (uint64_t)st.st_size;
}

/* The bytes of one stream (or of both, stream 0) in recorded order. */
static unsigned char *expected(const struct chunk *c, size_t nc, int stream, size_t *len)
{
	size_t n = 0;
	unsigned char *buf;

	for (size_t i = 0; i < nc; i++)
		if (stream == 0 || c[i].stream == stream)
			n += c[i].len;
	buf = malloc(n ? n : 1);
	assert_non_null(buf);
	*len = 0;
	for (size_t i = 0; i < nc; i++) {
		if (stream == 0 || c[i].stream == stream) {
			if (c[i].len > 0)
				memcpy(buf + *len, c[i].data, c[i].len);
			*len += c[i].len;
		}
	}
	return buf;
}

static void assert_fd_holds(int fd, const unsigned char *want, size_t len)
{
	size_t n;
	unsigned char *got = unit_read_fd(fd, &n);
	if (n != len)
		fail_msg("%zu bytes replayed, want %zu", n, len);
	if (len > 0 && memcmp(got, want, len) != 0) {
		size_t i = 0;
		while (got[i] == want[i])
			i++;
		fail_msg("replayed bytes differ from offset %zu", i);
	}
	free(got);
}

/* Replays e into temporary files: each stream apart, both into one file
 * (which shows the order), and one stream skipped. */
static void check_replay(pk_entry *e, const char *dir, const struct chunk *c, size_t nc)
{
	pk_error err = { 0, "" };
	int out = unit_tmpfile(dir), errf = unit_tmpfile(dir), both = unit_tmpfile(dir);
	int only = unit_tmpfile(dir);
	unsigned char *want_out, *want_err, *want_both;
	size_t lout, lerr, lboth;

	want_out = expected(c, nc, PK_STDOUT, &lout);
	want_err = expected(c, nc, PK_STDERR, &lerr);
	want_both = expected(c, nc, 0, &lboth);
	if (pk_entry_replay(e, out, errf, &err) != 0)
		fail_msg("replay: %s", err.msg);
	assert_fd_holds(out, want_out, lout);
	assert_fd_holds(errf, want_err, lerr);
	assert_int_equal(pk_entry_replay(e, both, both, &err), 0);
	assert_fd_holds(both, want_both, lboth);
	assert_int_equal(pk_entry_replay(e, -1, only, &err), 0);
	assert_fd_holds(only, want_err, lerr);
	free(want_out);
	free(want_err);
	free(want_both);
	close(out);
	close(errf);
	close(both);
	close(only);
}

static pk_entry *open_entry(const char *path, int *fd)
{
	pk_error err = { 0, "" };
	pk_entry *e;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(*fd >= 0);
	e = pk_entry_open(*fd, &err);
	if (e == NULL)
		fail_msg("pk_entry_open: %s", err.msg);
	return e;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	pk_error err = { 0, "" };
	uint64_t size = write_entry(f->dir, path, small_chunks, NSMALL, &small_file, 1, 0);
	int fd;
	pk_entry *e = open_entry(path, &fd);
	const pk_meta *m = pk_entry_meta(e);

	assert_true(pk_entry_stored_bytes(e) == size);
	assert_int_equal(m->parts.argc, 1);
	assert_string_equal(m->parts.argv[0], "job");
	assert_int_equal(m->exit_status, 7);
	assert_true(m->stdout_bytes == 13);
	assert_true(m->stderr_bytes == 11);
	assert_int_equal(m->nfiles, 1);
	assert_string_equal(m->files[0].path, "out.txt");
	assert_int_equal(m->files[0].mode, 0640);
	assert_true(m->files[0].size == 13);
	assert_true(pk_meta_raw_bytes(m) == 13 + 11 + 13);
	if (pk_entry_verify(e, 0, &err) != 0)
		fail_msg("verify: %s", err.msg);
	if (pk_entry_verify(e, 1, &err) != 0)
		fail_msg("deep verify: %s", err.msg);
	check_replay(e, f->dir, small_chunks, NSMALL);
	pk_entry_close(e);
	pk_entry_close(NULL);
	close(fd);
	free(path);
}

/* Replay without an explicit verify verifies first. */
static void test_replay_into_pipes(void **state)
{
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	pk_error err = { 0, "" };
	int fd, po[2], pe[2];
	char buf[64];
	pk_entry *e;

	write_entry(f->dir, path, small_chunks, NSMALL, NULL, 0, 0);
	e = open_entry(path, &fd);
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	assert_int_equal(pk_entry_replay(e, po[1], pe[1], &err), 0);
	close(po[1]);
	close(pe[1]);
	assert_int_equal(pk_read_full(po[0], buf, sizeof(buf)), 13);
	assert_memory_equal(buf, "hello\n\0\0\0tail", 13);
	assert_int_equal(pk_read_full(pe[0], buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "warn\0ing\ne2", 11);
	close(po[0]);
	close(pe[0]);
	pk_entry_close(e);
	close(fd);
	free(path);
}

static void test_replay_reader_gone(void **state)
{
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	pk_error err = { 0, "" };
	int fd, p[2];
	pk_entry *e;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	write_entry(f->dir, path, small_chunks, NSMALL, NULL, 0, 0);
	e = open_entry(path, &fd);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(pk_entry_replay(e, p[1], -1, &err), -1);
	assert_int_equal(err.errnum, EPIPE);
	/* The other stream still gets every byte, either way round. */
	for (int gone = PK_STDOUT; gone <= PK_STDERR; gone++) {
		int other = unit_tmpfile(f->dir);
		size_t len;
		unsigned char *want = expected(small_chunks, NSMALL,
		                               gone == PK_STDOUT ? PK_STDERR : PK_STDOUT, &len);

		memset(&err, 0, sizeof(err));
		assert_int_equal(pk_entry_replay(e, gone == PK_STDOUT ? p[1] : other,
		                                 gone == PK_STDOUT ? other : p[1], &err),
		                 -1);
		assert_int_equal(err.errnum, EPIPE);
		assert_fd_holds(other, want, len);
		free(want);
		close(other);
	}
	close(p[1]);
	pk_entry_close(e);
	close(fd);
	free(path);
	signal(SIGPIPE, old);
}

static void test_no_output_after_files(void **state)
{
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	pk_error err = { 0, "" };
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int src = unit_tmpfile(f->dir);
	uint64_t size;
	pk_entry_writer *w;

	assert_true(fd >= 0);
	w = pk_entry_writer_new(fd, 1, 0, &err);
	assert_non_null(w);
	assert_int_equal(pk_entry_writer_stdio(w, PK_STDOUT, "a", 1, &err), 0);
	unsigned char sum[16];
	assert_int_equal(pk_entry_writer_file(w, src, &size, sum, &err), 0);
	assert_true(size == 0);
	assert_int_equal(pk_entry_writer_stdio(w, PK_STDOUT, "b", 1, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	pk_entry_writer_free(w);
	pk_entry_writer_free(NULL);
	close(src);
	close(fd);
	free(path);
}

/* Opens fd as an entry and verifies it; returns 0 only if both succeed. */
static int open_and_verify(int fd)
{
	pk_error err = { 0, "" };
	pk_entry *e = pk_entry_open(fd, &err);
	int r = -1;

	if (e == NULL) {
		assert_true(err.msg[0] != '\0');
		return -1;
	}
	if (pk_entry_verify(e, 0, &err) == 0)
		r = 0;
	else
		assert_true(err.msg[0] != '\0');
	pk_entry_close(e);
	return r;
}

static void test_every_flipped_byte_refused(void **state)
{
	static const unsigned char masks[] = { 0x01, 0x80, 0xff };
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	size_t len;
	unsigned char *orig;
	int fd;

	write_entry(f->dir, path, small_chunks, NSMALL, &small_file, 1, 0);
	orig = unit_read_file(path, &len);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(open_and_verify(fd), 0);
	for (size_t m = 0; m < sizeof(masks); m++) {
		for (size_t i = 0; i < len; i++) {
			unsigned char b = orig[i] ^ masks[m];
			assert_int_equal(pwrite(fd, &b, 1, (off_t)i), 1);
			if (open_and_verify(fd) == 0)
				fail_msg("byte %zu of %zu flipped with 0x%02x: entry accepted", i,
				         len, masks[m]);
			assert_int_equal(pwrite(fd, &orig[i], 1, (off_t)i), 1);
		}
	}
	assert_int_equal(open_and_verify(fd), 0);
	close(fd);
	free(orig);
	free(path);
}

static void test_every_truncation_refused(void **state)
{
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	uint64_t size = write_entry(f->dir, path, small_chunks, NSMALL, &small_file, 1, 0);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned char zero = 0;

	assert_true(fd >= 0);
	/* One byte too many is as wrong as one too few. */
	assert_int_equal(pwrite(fd, &zero, 1, (off_t)size), 1);
	assert_int_equal(open_and_verify(fd), -1);
	for (uint64_t len = size; len-- > 0;) {
		assert_int_equal(ftruncate(fd, (off_t)len), 0);
		if (open_and_verify(fd) == 0)
			fail_msg("entry cut to %llu of %llu bytes accepted",
			         (unsigned long long)len, (unsigned long long)size);
	}
	close(fd);
	free(path);
}

/* Deterministic text that compresses only about 2:1, so that the entry
 * stays larger than what is read in one go. */
static void fill_text(unsigned char *buf, size_t len, uint64_t seed)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,0123456789\n";
	uint64_t x = seed;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)alphabet[x % (sizeof(alphabet) - 1)];
	}
}

static void test_large_entry_streams(void **state)
{
	struct fixture *f = *state;
	const size_t total = 5 << 20, flen = 3 << 20;
	unsigned char *text = malloc(total), *fdata = malloc(flen);
	struct chunk *chunks = calloc(256, sizeof(*chunks));
	size_t nc = 0, off = 0;
	char *path = unit_path(f->dir, "entry"), *work = unit_path(f->dir, "work");
	struct outspec out = { "big.dat", 0600, NULL, 0 };
	pk_error err = { 0, "" };
	uint64_t size;
	pk_entry *e;
	int fd;

	assert_non_null(text);
	assert_non_null(fdata);
	assert_non_null(chunks);
	fill_text(text, total, 88172645463325252ULL);
	fill_text(fdata, flen, 0x9e3779b97f4a7c15ULL);
	out.data = fdata;
	out.len = flen;
	/* Chunks of uneven sizes, one in five on stderr, one larger than the
	 * 1 MiB buffers the reader uses. */
	while (off < total) {
		size_t n = nc == 3 ? (1 << 20) + 7 : 1 + (nc * 7919) % 90000;
		if (n > total - off)
			n = total - off;
		assert_true(nc < 256);
		chunks[nc].stream = nc % 5 == 4 ? PK_STDERR : PK_STDOUT;
		chunks[nc].data = text + off;
		chunks[nc].len = n;
		off += n;
		nc++;
	}
	size = write_entry(f->dir, path, chunks, nc, &out, 1, 2);
	if (size <= (1 << 20))
		fail_msg("entry of %llu bytes: not large enough to be streamed",
		         (unsigned long long)size);
	e = open_entry(path, &fd);
	if (pk_entry_verify(e, 1, &err) != 0)
		fail_msg("deep verify: %s", err.msg);
	check_replay(e, f->dir, chunks, nc);

	assert_int_equal(mkdir(work, 0700), 0);
	assert_int_equal(chdir(work), 0);
	if (pk_entry_restore_files(e, NULL, &err) != 0)
		fail_msg("restore: %s", err.msg);
	unit_assert_file("big.dat", fdata, flen);
	pk_entry_close(e);
	close(fd);
	free(text);
	free(fdata);
	free(chunks);
	free(path);
	free(work);
}

/* Names in the current directory other than those listed, for leftovers. */
static void assert_dir_holds(const char *dir, const char *const *names, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t seen = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		int known = 0;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			known |= strcmp(de->d_name, names[i]) == 0;
		if (!known)
			fail_msg("unexpected file %s/%s", dir, de->d_name);
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, n);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	return st.st_mode & 07777;
}

static void test_restore_files(void **state)
{
	static const struct outspec outs[] = {
		{ "out.txt", 0640, "file\0content\n", 13 },
		{ "sub/empty", 0600, "", 0 },
		{ "sub/run.sh", 0755, "#!/bin/sh\necho hi\n", 18 },
	};
	static const char *const top[] = { "out.txt", "sub" };
	static const char *const sub[] = { "empty", "run.sh" };
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry"), *work = unit_path(f->dir, "work");
	pk_error err = { 0, "" };
	pk_entry *e;
	int fd;

	write_entry(f->dir, path, small_chunks, NSMALL, outs, 3, 0);
	assert_int_equal(mkdir(work, 0700), 0);
	assert_int_equal(chdir(work), 0);
	assert_int_equal(mkdir("sub", 0700), 0);
	/* An older file of the same name is replaced, keeping its mode. */
	unit_write_file("out.txt", "older and longer content", 24, 0666);
	e = open_entry(path, &fd);
	if (pk_entry_restore_files(e, NULL, &err) != 0)
		fail_msg("restore: %s", err.msg);
	unit_assert_file("out.txt", "file\0content\n", 13);
	assert_int_equal(mode_of("out.txt"), 0666);
	unit_assert_file("sub/empty", "", 0);
	assert_int_equal(mode_of("sub/empty"), 0600);
	unit_assert_file("sub/run.sh", "#!/bin/sh\necho hi\n", 18);
	assert_int_equal(mode_of("sub/run.sh"), 0755);
	assert_dir_holds(".", top, 2);
	assert_dir_holds("sub", sub, 2);
	pk_entry_close(e);
	close(fd);
	free(path);
	free(work);
}

static void test_restore_without_files(void **state)
{
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	pk_error err = { 0, "" };
	pk_entry *e;
	int fd;

	write_entry(f->dir, path, small_chunks, NSMALL, NULL, 0, 0);
	assert_int_equal(chdir(f->dir), 0);
	e = open_entry(path, &fd);
	assert_int_equal(pk_entry_restore_files(e, NULL, &err), 0);
	{
		static const char *const only[] = { "entry" };
		assert_dir_holds(".", only, 1);
	}
	pk_entry_close(e);
	close(fd);
	free(path);
}

static void test_read_meta(void **state)
{
	struct fixture *f = *state;
	char *path = unit_path(f->dir, "entry");
	uint64_t size = write_entry(f->dir, path, small_chunks, NSMALL, &small_file, 1, 0);
	uint64_t stored = 0;
	pk_error err = { 0, "" };
	pk_meta m;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	if (pk_entry_read_meta(fd, &m, &stored, &err) != 0)
		fail_msg("read_meta: %s", err.msg);
	assert_true(stored == size);
	assert_string_equal(m.parts.argv[0], "job");
	assert_int_equal(m.exit_status, 7);
	assert_true(m.stdout_bytes == 13);
	assert_int_equal(m.nfiles, 1);
	pk_meta_free(&m);
	assert_int_equal(ftruncate(fd, (off_t)size - 1), 0);
	assert_int_equal(pk_entry_read_meta(fd, &m, &stored, &err), -1);
	pk_meta_free(&m);
	close(fd);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_into_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_reader_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_output_after_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_flipped_byte_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_truncation_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_entry_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_without_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_meta, setup, teardown),
	};
	return cmocka_run_group_tests_name("entry", tests, NULL, NULL);
}
