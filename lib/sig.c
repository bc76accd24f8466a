/* sig.c: ending a process by its command's signal. */
#include "sig.h"

#include <signal.h>
#include <sys/resource.h>

void pk_sig_die_by(int sig)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;

	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	raise(sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}
