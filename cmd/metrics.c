/* metrics.c: `pickled stats --prometheus`: the metrics a run writes to
 * metrics.textfile, printed on standard output. */
#include "cli.h"
#include "format.h"

#include "defaults.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

int stats_prometheus(struct cli *cli, const pk_store *s)
{
	pk_metrics *m = malloc(sizeof(*m));
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN], *text = NULL;
	int ret = 1;

	if (m == NULL) {
		fputs("pickled: out of memory\n", stderr);
		return 1;
	}
	if (pk_metrics_load(s, m, &err) < 0) {
		fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	m->max_size = cli->max_size ? cli->max_size : PK_DEFAULT_MAX_SIZE;
	pk_metrics_scan(s, m);
	if ((text = pk_metrics_render(m)) == NULL) {
		fputs("pickled: out of memory\n", stderr);
		goto out;
	}
	fputs(text, stdout);
	ret = 0;
	if (fmt_flush_stdout() != 0)
		ret = 1;
out:
	free(text);
	free(m);
	return ret;
}
