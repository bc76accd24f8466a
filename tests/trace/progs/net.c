/* Connects (without waiting) to loopback, a Unix socket and two
 * documentation addresses; only the last two are network peers. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void try4(const char *ip, int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	connect(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
}

static void try6(const char *ip, int port)
{
	struct sockaddr_in6 a;
	int s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s < 0)
		return;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons((unsigned short)port);
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	connect(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
}

int main(void)
{
	struct sockaddr_un u;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&u, 0, sizeof(u));
	u.sun_family = AF_UNIX;
	strcpy(u.sun_path, "/nonexistent-socket-of-trace-test");
	connect(s, (struct sockaddr *)&u, sizeof(u));
	close(s);
	try4("127.0.0.1", 9);
	try6("::1", 9);
	try4("192.0.2.1", 9);
	try6("2001:db8::1", 53);
	try4("192.0.2.1", 9);                      /* once per peer */
	return 0;
}
