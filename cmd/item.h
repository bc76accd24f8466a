/* item.h: one cache entry as ls and show print it. */
#ifndef PK_ITEM_H
#define PK_ITEM_H

#include "catalog.h"

#include <stdio.h>

/* "fresh", "stale" or "expired" at now_ms. */
const char *item_state(const pk_item *it, int64_t now_ms);

/* Command time the entry's hits have saved. */
int64_t item_saved_ms(const pk_item *it);

/* Writes every recorded field of it as one JSON object (the names are
 * documented in pickled(1) under ls --json). */
void item_json(FILE *f, const pk_item *it, int64_t now_ms);

#endif
