/* sig.c: the stop signals; ending a process by its command's signal. */
#include "sig.h"

#include <signal.h>
#include <sys/resource.h>

const int pk_sig_stop[PK_SIG_NSTOP] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

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
