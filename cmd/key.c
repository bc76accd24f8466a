/* key.c: `pickled key`: the key `run` would use, without running. */
#include "cli.h"

#include "run.h"

#include <stdio.h>
#include <string.h>

void help_key(void)
{
	printf("Usage: pickled key [RUN OPTIONS] [--] PROGRAM [ARG...]\n"
	       "       pickled key -j NAME [RUN OPTIONS] [--] [ARG...]\n"
	       "\n"
	       "Print the key that 'pickled run' with the same options and command would\n"
	       "use (32 hex digits), without running anything.  It takes every option of\n"
	       "'pickled run' (see 'pickled run --help'); with --explain, the key's parts\n"
	       "go to stderr.  Like run, it reads a piped stdin into the key unless told\n"
	       "--no-stdin; an empty stdin keys as none.\n"
	       "\n"
	       "Exit status: 0 with a key; 1 when no key applies because the run would go\n"
	       "uncached (configuration errors, stdin over --stdin-limit, an input that\n"
	       "cannot be read: the reason goes to stderr); 125 bad usage; 126 and 127 as\n"
	       "for run.\n");
}

int cmd_key(struct cli *cli, int argc, char **argv)
{
	struct run_setup s;
	pk_run_result r;
	pk_key key;
	char hex[PK_KEY_HEX + 1];
	int ret;

	ret = run_setup(cli, "key", help_key, argc, argv, &s);
	if (!s.ready)
		goto out;
	if (s.broken) {
		ret = 1;
		goto out;
	}
	if (pk_run_key(&s.o, &key, &r) < 0) {
		fprintf(stderr, "pickled: %s\n", r.error);
		ret = r.status;
		goto out;
	}
	if (r.notice[0] != '\0')
		fprintf(stderr, "pickled: %s\n", r.notice);
	pk_key_hex(&key, hex);
	printf("%s\n", hex);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	run_setup_free(&s);
	return ret;
}
