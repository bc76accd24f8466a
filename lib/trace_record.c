/* trace_record.c: freeing a tracer's result.  The path strings of a
 * result read by trace_table_read live in one block, held by the entry
 * past the last record (records[nrecords].path). */
#include "trace_record.h"

#include <stdint.h>
#include <stdlib.h>

void pk_trace_result_free(pk_trace_result *res)
{
	if (res == NULL)
		return;
	if (res->records != NULL)
		free((char *)(uintptr_t)res->records[res->nrecords].path);
	free(res->records);
	free(res->peers);
	res->records = NULL;
	res->peers = NULL;
	res->nrecords = res->npeers = 0;
}
