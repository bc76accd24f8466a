/* region.c: large zeroed memory in huge pages where possible (see
 * region.h). */
#include "region.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

static size_t span_of(size_t len)
{
	return (len + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
}

void *pk_region_alloc(size_t len)
{
	size_t span, head;
	char *q, *p;

	if (len < PK_REGION_HUGE)
		return calloc(1, len ? len : 1);
	if (len > SIZE_MAX - 2 * HUGE_PAGE)
		return NULL;
	span = span_of(len);
	/* A huge page must start on a 2 MiB boundary: map one more, keep the
	 * aligned span, give back the rest (never touched: no fault). */
	q = mmap(NULL, span + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	         0);
	if (q == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)q + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	head = (size_t)(p - q);
	if (head > 0)
		munmap(q, head);
	if (HUGE_PAGE - head > 0)
		munmap(p + span, HUGE_PAGE - head);
	/* Advice only: without transparent huge pages, ordinary ones. */
	(void)madvise(p, span, MADV_HUGEPAGE);
	return p;
}

void pk_region_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	if (len < PK_REGION_HUGE)
		free(p);
	else
		munmap(p, span_of(len));
}
