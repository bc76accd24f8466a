/* defaults.h: every built-in default, in one place.  pickled.conf(5) and
 * pickled(1) document these values; change them together. */
#ifndef PK_DEFAULTS_H
#define PK_DEFAULTS_H

#define PK_DEFAULT_TTL_MS (24LL * 3600 * 1000)     /* 1d */
#define PK_DEFAULT_STALE_MS 0LL                    /* none */
#define PK_DEFAULT_LOCK_TIMEOUT_MS (3600LL * 1000) /* 1h */
#define PK_DEFAULT_STDIN_LIMIT (1ULL << 30)        /* 1G */
#define PK_DEFAULT_MAX_SIZE (1ULL << 30)           /* 1G */
/* As large as the default cache: a tenth would stop caching results that
 * are cached today (a 200 MiB report).  max_size bounds it as well. */
#define PK_DEFAULT_MAX_ENTRY (1ULL << 30) /* 1G */
#define PK_DEFAULT_LEVEL 1
#define PK_DEFAULT_THREADS 0 /* 0: one per core, up to 4 */
/* A run longer than its ttl stores an entry expired at once, for the runs
 * that waited for it: gc keeps it, and Redis holds it, this long after. */
#define PK_JUST_STORED_MS (60LL * 1000) /* 1m */
/* Entries created further ahead of the clock than this are expired (a
 * creation time a little ahead is another host's clock, not a jump). */
#define PK_CLOCK_SKEW_MS (60LL * 1000)                 /* 1m */
#define PK_DEFAULT_GC_INTERVAL_MS (24LL * 3600 * 1000) /* 1d */
#define PK_SYSTEM_CONFIG PK_SYSCONFDIR "/pickled.conf"
#define PK_USER_CONFIG "pickled/pickled.conf" /* under $XDG_CONFIG_HOME or ~/.config */
#define PK_DEFAULT_REMOTE_TIMEOUT_MS 200LL    /* remote: see remote.h */
#define PK_DEFAULT_REMOTE_PREFIX "pickled:"
#define PK_DEFAULT_REMOTE_MAX_ENTRY (64ULL << 20)        /* 64M: larger stay local */
#define PK_DEFAULT_REMOTE_LEASE_MS (30LL * 1000)         /* 30s, renewed every 10s */
#define PK_DEFAULT_REMOTE_UPLOAD_EXPIRY_MS (60LL * 1000) /* renewed every 20s */

#endif
