/* redis_url.h: the shared tier's address: parsing a Redis URL, and showing
 * one without its password.  Accepted forms:
 *   redis://[user[:password]@]host[:port][/db]   host may be [v6 address]
 *   redis+unix:///path[?db=N&user=U&password=P]   (also unix:///path...)
 * User and password are percent-decoded ("%40" is '@'); "user@" alone is a
 * user with no password (one from remote.password_file or
 * PICKLED_REMOTE_PASSWORD, or an ACL user with nopass). */
#ifndef PK_REDIS_URL_H
#define PK_REDIS_URL_H

#include "error.h"

#include <stddef.h>

typedef struct pk_redis_url {
	char host[256];  /* without the brackets of an IPv6 address */
	char path[1024]; /* a Unix socket; "" for TCP */
	char user[256];  /* "" for the default user */
	char pass[256];  /* "" for none */
	int port, db, is_unix;
} pk_redis_url;

/* Parses url into u.  Returns 0, or -1 with err saying what is wrong
 * (never showing the password), after label ("remote url: ", or "" for a
 * caller that names the setting itself). */
int pk_redis_url_parse(const char *url, pk_redis_url *u, const char *label, pk_error *err);

/* The URL as a message may show it (cron mails stderr): the password
 * replaced by "***", also in a mistyped URL (no "://", or a password typed
 * without its '@', where the port would be) and in a "password=" query
 * parameter.  Returns buf. */
const char *pk_redis_url_redact(const char *url, char *buf, size_t len);

/* The URL without its password, for the environment of the command (a
 * nested run reads remote.password_file itself): "redis://user:@host" for
 * "redis://user:pw@host", "redis://host" for "redis://:pw@host", the
 * "password=" parameter left out of a socket URL.  Returns 0, or -1 when it
 * does not fit. */
int pk_redis_url_strip_password(const char *url, char *buf, size_t len);

#endif
