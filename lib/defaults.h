/* defaults.h: every built-in default, in one place.  pickled.conf(5) and
 * pickled(1) document these values; change them together. */
#ifndef PK_DEFAULTS_H
#define PK_DEFAULTS_H

#define PK_DEFAULT_TTL_MS (24LL * 3600 * 1000)           /* 1d */
#define PK_DEFAULT_STALE_MS 0LL                           /* none */
#define PK_DEFAULT_LOCK_TIMEOUT_MS (3600LL * 1000)       /* 1h */
#define PK_DEFAULT_STDIN_LIMIT (1ULL << 30)               /* 1G */
#define PK_DEFAULT_MAX_SIZE (1ULL << 30)                  /* 1G */
#define PK_DEFAULT_LEVEL 1
#define PK_DEFAULT_THREADS 0                              /* 0: one per core, up to 4 */
#define PK_DEFAULT_GC_INTERVAL_MS (24LL * 3600 * 1000)   /* 1d */
#define PK_SYSTEM_CONFIG PK_SYSCONFDIR "/pickled.conf"

#endif
