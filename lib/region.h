/* region.h: large zeroed memory for short-lived decoded data (a
 * manifest's thousands of records, read on every traced hit).
 *
 * Each 4 KiB page of an ordinary allocation costs a page fault when first
 * touched and a TLB flush when released: on a virtual machine, microseconds
 * each, more than the stat call a record is read for.  A region of
 * PK_REGION_HUGE bytes or more is mapped on its own and asked for as
 * transparent huge pages (madvise), one fault per 2 MiB where the kernel
 * allows it; where it does not, it is ordinary pages, as before. */
#ifndef PK_REGION_H
#define PK_REGION_H

#include <stddef.h>

#define PK_REGION_HUGE (256u * 1024)

/* len zeroed bytes, aligned for any type.  NULL with errno set. */
void *pk_region_alloc(size_t len);

/* Releases a region of len bytes (the same len) from pk_region_alloc. */
void pk_region_free(void *p, size_t len);

#endif
