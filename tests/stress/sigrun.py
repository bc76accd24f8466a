#!/usr/bin/env python3
# sigrun.py: starts a command with chosen signal dispositions and tells how
# it ended, which bash cannot: `wait` says 130 both for exit(130) and for a
# death by SIGINT.
#
#   sigrun.py [-i SIGS] [-p PIDFILE] [-r RESULTFILE] -- CMD [ARG...]
#
# SIGS is a comma-separated list of names without SIG (HUP,INT).  HUP, INT,
# QUIT, TERM, PIPE and XFSZ start at their default disposition, whatever the
# caller had (a background job of a non-interactive shell ignores INT and
# QUIT; python ignores PIPE and XFSZ), except those named with -i, which
# start ignored, as under nohup.  The command's pid goes to PIDFILE once it
# runs; when it ends, RESULTFILE gets "signal NAME" (followed by " core"
# when it dumped one) or "exit N" (and sigrun.py exits 0).  Without -r, sigrun.py execs the command.
import os
import signal
import sys

CONTROLLED = ["HUP", "INT", "QUIT", "TERM", "PIPE", "XFSZ"]


def main(argv):
    ignored, pidfile, result = [], None, None
    i = 0
    while i < len(argv) and argv[i] != "--":
        opt, val = argv[i], argv[i + 1]
        if opt == "-i":
            ignored = [s for s in val.split(",") if s]
        elif opt == "-p":
            pidfile = val
        elif opt == "-r":
            result = val
        else:
            sys.exit("sigrun.py: unknown option " + opt)
        i += 2
    cmd = argv[i + 1:]
    for name in CONTROLLED + ignored:
        sig = getattr(signal, "SIG" + name)
        signal.signal(sig, signal.SIG_IGN if name in ignored else signal.SIG_DFL)
    if result is None:
        if pidfile is not None:
            with open(pidfile + ".tmp", "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(pidfile + ".tmp", pidfile)
        os.execvp(cmd[0], cmd)
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    if pidfile is not None:
        with open(pidfile + ".tmp", "w") as f:
            f.write("%d\n" % pid)
        os.rename(pidfile + ".tmp", pidfile)
    # The shell's signals are not ours to act on while we wait.
    for name in ["INT", "QUIT", "TERM", "HUP"]:
        signal.signal(getattr(signal, "SIG" + name), signal.SIG_IGN)
    _, st = os.waitpid(pid, 0)
    if os.WIFSIGNALED(st):
        how = "signal " + signal.Signals(os.WTERMSIG(st)).name[3:]
        if os.WCOREDUMP(st):
            how += " core"
    else:
        how = "exit %d" % os.WEXITSTATUS(st)
    with open(result, "w") as f:
        f.write(how + "\n")


main(sys.argv[1:])
