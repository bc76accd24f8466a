/* populate.c: fills a cache with N entries exactly as
 * `pickled -C DIR run --ttl forever -k I -- true` would store them (I from 1
 * to N), without starting N processes.  run.sh checks the result with real
 * hits, so a difference from pickled's own keys shows up at once.
 * Usage: populate DIR N */
#include "entry.h"
#include "key.h"
#include "program.h"
#include "store.h"
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pk_store s;
	pk_error err = { 0 };
	pk_key_parts p;
	char *args[] = { "true", NULL }, extra[32], tmp[256];
	long n;

	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: populate DIR N\n");
		return 2;
	}
	if (pk_store_open(&s, argv[1], &err) < 0) {
		fprintf(stderr, "populate: %s\n", err.msg);
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.argc = 1;
	p.argv = args;
	p.program_check = PK_PROGRAM_MTIME;
	p.extra = extra;
	if (pk_program_resolve("true", getenv("PATH"), &p.program, &err) < 0 ||
	    pk_program_describe(&p, NULL, &err) < 0) {
		fprintf(stderr, "populate: %s\n", err.msg);
		return 1;
	}
	for (long i = 1; i <= n; i++) {
		pk_meta m;
		pk_entry_writer *w;
		int fd;

		snprintf(extra, sizeof(extra), "%ld", i);
		memset(&m, 0, sizeof(m));
		pk_key_compute(&p, &m.key);
		m.parts = p;
		m.created_ms = pk_now_ms();
		m.duration_ms = 1;
		m.ttl_ms = PK_FOREVER;
		if ((fd = pk_store_tmp_create(&s, tmp, sizeof(tmp), &err)) < 0 ||
		    (w = pk_entry_writer_new(fd, 1, 0, &err)) == NULL ||
		    pk_entry_writer_finish(w, &m, &err) < 0 ||
		    pk_store_commit(&s, fd, tmp, &m.key, &err) < 0) {
			fprintf(stderr, "populate: %s\n", err.msg);
			return 1;
		}
		pk_entry_writer_free(w);
		close(fd);
	}
	free(p.program);
	pk_store_close(&s);
	return 0;
}
