#!/usr/bin/env python3
"""soak.py: random faults at scale (#20 item 2).

RUNS operations on one cache, WORKERS at a time: runs of eight jobs (misses,
hits, stale hits refreshed in the background, -o restores, traced runs), bursts of
identical runs at once, gc and rm in parallel with them, and runs killed
with SIGKILL at a random moment.  In every pickled process each failable
call of pickled's own code fails with probability PROB (the preloaded
helper, tests/faults/fiu_nth.c; the seed of operation i is SEED*1000003+i,
so a run can be replayed alone).

Checked for every run that was not killed: its output reached the caller
complete (stdout, stderr, the -o file, exit 0), pickled adding at most one
line; or pickled exited 1, 125, 126 or 127 and said why in one line.  (With
1% a call, a run often meets two faults or more: it may then say one line
for each, and no more.)  A run
that exits 0 with output other than the job's is a wrong replay when its
bytes are not a prefix of the job's, a lost output when they are.  Every
CHECK operations and at the end, once all has settled: a clean run of each
job gives its bytes, `pickled verify` finds the cache clean or
`verify --fix` makes it so, and no temporary is left without a lock other
than those of the killed runs and of runs where the unlink that removes it
failed too (gc removes those after an hour).

Usage: soak.py [--runs N] [--seed S] [--prob P] [--workers W] [--check N]
Needs PICKLED_BIN and PK_FIU_HELPER, as nth.sh.  Exits 1 on any violation.
"""
import argparse
import concurrent.futures as cf
import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ["PICKLED_BIN"]
HELPER = os.environ["PK_FIU_HELPER"]
PRELOAD = os.environ.get("PK_FIU_PRELOAD", "/usr/lib/fiu/fiu_posix_preload.so")
JOBS = ["j%d" % i for i in range(8)]
# j0-j2 plain, j3-j4 stale after 1ms (refreshed in the background),
# j5-j7 with an -o file (restored on a hit when it is gone); j2 and j7
# with --trace.
STALE = {"j3", "j4"}
FILES = {"j5", "j6", "j7"}
TRACED = {"j2", "j7"}

JOB_SH = """#!/bin/sh
seq -f "$1 line %g" 1 $2
echo "$1: done" >&2
[ -z "${3:-}" ] || seq -f "$1 file %g" 1 500 >"$3"
"""


class Soak:
    def __init__(self, a):
        self.a = a
        self.w = tempfile.mkdtemp(prefix="pickled-soak.")
        self.cache = os.path.join(self.w, "cache")
        self.job = os.path.join(self.w, "job.sh")
        with open(self.job, "w") as f:
            f.write(JOB_SH)
        os.chmod(self.job, 0o755)
        self.exp = {}
        for i, j in enumerate(JOBS):
            n = str(200 + 900 * i)
            fp = os.path.join(self.w, j + ".expfile")
            p = subprocess.run([self.job, j, n, fp], capture_output=True, check=True)
            self.exp[j] = (n, p.stdout, p.stderr, open(fp, "rb").read())
        # hiredis's and libseccomp's functions, whose allocations are not
        # failed (fiu_nth.c, README.md)
        skip = os.path.join(self.w, "skip")
        syms = subprocess.run(["nm", "-S", "--defined-only", BIN], capture_output=True,
                              text=True, check=True).stdout
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "libseccomp"],
                                capture_output=True, text=True).stdout.strip()
        seccomp = set()
        if libdir:
            a = subprocess.run(["nm", "--defined-only", os.path.join(libdir, "libseccomp.a")],
                               capture_output=True, text=True).stdout
            seccomp = {p[2] for p in (l.split() for l in a.splitlines())
                       if len(p) == 3 and p[1] in ("t", "T")}
        with open(skip, "w") as f:
            for line in syms.splitlines():
                p = line.split()
                if len(p) == 4 and (p[3].startswith(("redis", "__redis", "_redis", "sds", "hi_"))
                                    or p[3] in seccomp):
                    f.write("%s %s\n" % (p[0], p[1]))
        self.skip = skip
        self.lock = threading.Lock()
        self.file_locks = {j: threading.Lock() for j in FILES}
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("PICKLED_") and k not in (
                        "CACHE_DIRECTORY", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
        self.env["HOME"] = os.path.join(self.w, "home")
        os.mkdir(self.env["HOME"])
        self.n = dict(runs=0, ops=0, faults=0, faulted_runs=0, complete=0, warned=0,
                      failed_clean=0, killed=0, gc=0, rm=0, wrong=0, lost=0, violations=0,
                      checks=0, fixed=0, killed_temps=0, message_lost=0,
                      unlink_temps=0)
        self.killed_pids = set()
        self.last_point = {}
        self.pid_faults = {}
        self.seq = 0

    # -- running pickled ----------------------------------------------
    def state(self):
        with self.lock:
            self.seq += 1
            p = os.path.join(self.w, "st.%d" % self.seq)
        with open(p, "wb") as f:
            f.write(b"\0" * 2048)
        return p

    def fiu_env(self, st, seed):
        e = dict(self.env)
        e.update(LD_PRELOAD=HELPER + " " + PRELOAD, PK_FIU_BIN=BIN, PK_FIU_STATE=st,
                 PK_FIU_SKIP=self.skip)
        if seed is not None:
            e.update(PK_FIU_PROB=str(self.a.prob), PK_FIU_SEED=str(seed))
        return e

    @staticmethod
    def settle(st):
        """Waits for every process of the run's tree; returns (calls, injected)."""
        with open(st, "rb") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            b = f.read(2048)
        os.unlink(st)
        names = [b[16 + 112 * k:16 + 112 * (k + 1)].split(b"\0")[0].decode() for k in range(16)]
        return (int.from_bytes(b[:8], "little"), int.from_bytes(b[8:16], "little"),
                ",".join(n for n in names if n))

    def pk(self, args, seed, kill_after=None):
        st = self.state()
        p = subprocess.Popen([BIN, "-C", self.cache] + args, env=self.fiu_env(st, seed),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        killed = False
        if kill_after is not None:
            time.sleep(kill_after)
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                killed = True
                with self.lock:
                    self.killed_pids.add(p.pid)
        out, err = p.communicate()
        calls, injected, point = self.settle(st)
        with self.lock:
            self.n["faults"] += injected
            self.n["faulted_runs"] += injected > 0
            self.last_point[threading.get_ident()] = (injected, point)
            self.pid_faults[p.pid] = "%s %s" % (" ".join(args[:1]), point or "no fault")
            # a detached child's faults, under its own pid
            for f in point.split(","):
                name, _, pid = f.rpartition(" ")
                if pid.isdigit() and int(pid) != p.pid:   # (a killed run may cut it short)
                    self.pid_faults[int(pid)] = (self.pid_faults.get(int(pid), "detached") +
                                                 " " + name)
        return p.returncode, out, err, killed, injected

    def run_args(self, j):
        n, _, _, _ = self.exp[j]
        args = ["run"]
        if j in STALE:
            args += ["-t", "1h", "-s", "1ms"]
        if j in TRACED:
            args.append("--trace")
        words = [self.job, j, n]
        if j in FILES:
            f = os.path.join(self.w, j + ".out")
            args += ["-o", f]
            words.append(f)
        return args + ["--"] + words

    # -- checks -----------------------------------------------------------
    def violation(self, what, seed, err=b""):
        with self.lock:
            self.n["violations"] += 1
        line = err.decode(errors="replace").strip().replace("\n", " | ")[:300]
        inj, point = self.last_point.get(threading.get_ident(), (0, ""))
        print("VIOLATION seed=%s (%d faults: %s): %s%s" %
              (seed, inj, point or "-", what, (" (stderr: %s)" % line) if line else ""),
              flush=True)

    def judge(self, j, rc, out, err, seed, fbytes=None, injected=1):
        _, eo, ee, ef = self.exp[j]
        # One line per fault: a run where k independent calls failed (a
        # cache that cannot be read, then a fork that fails) may say each.
        most = max(1, injected)
        lines = err.splitlines(keepends=True)
        # pickled's lines; one may follow a partial line of the command's
        # when writing stderr failed mid-line
        own = [l for l in lines if b"pickled: " in l]
        cmd_err = b"".join(l for l in lines if not l.startswith(b"pickled: "))
        file_ok = fbytes is None or fbytes == ef
        if rc == 0 and out == eo and cmd_err == ee and file_ok:
            if len(own) > most:
                self.violation("%s complete, but pickled said %d lines" % (j, len(own)), seed, err)
            with self.lock:
                self.n["complete"] += 1
                self.n["warned"] += len(own) >= 1
            return
        if rc == 0:
            if (out and not eo.startswith(out)) or (fbytes and not ef.startswith(fbytes)):
                with self.lock:
                    self.n["wrong"] += 1
                self.violation("WRONG REPLAY of %s: exit 0 with other bytes" % j, seed, err)
            else:
                with self.lock:
                    self.n["lost"] += 1
                self.violation("LOST OUTPUT of %s: exit 0, output cut short" % j, seed, err)
            return
        if rc in (1, 125, 126, 127) and 1 <= len(own) <= most:
            with self.lock:
                self.n["failed_clean"] += 1
            return
        if rc in (1, 125, 126, 127) and not own and self.message_faulted():
            return
        if out and not eo.startswith(out):
            with self.lock:
                self.n["wrong"] += 1
            self.violation("WRONG REPLAY of %s: exit %d with other bytes" % (j, rc), seed, err)
            return
        self.violation("%s: exit %d with %d lines of pickled's own" % (j, rc, len(own)), seed, err)

    def one_run(self, j, seed, kill_after=None):
        lk = self.file_locks.get(j)
        if lk:
            lk.acquire()   # two runs of one -o job would race for the file
        try:
            f = os.path.join(self.w, j + ".out")
            if j in FILES and os.path.exists(f):
                os.unlink(f)
            rc, out, err, killed, injected = self.pk(self.run_args(j), seed, kill_after)
            fbytes = None
            if j in FILES and rc == 0 and not killed:
                fbytes = open(f, "rb").read() if os.path.exists(f) else b""
        finally:
            if lk:
                lk.release()
        with self.lock:
            self.n["runs"] += 1
            self.n["killed"] += killed
        if not killed:
            self.judge(j, rc, out, err, seed, fbytes, injected)

    def op(self, i):
        rng = random.Random(self.a.seed * 1000003 + i)
        seed = self.a.seed * 1000003 + i
        r = rng.random()
        j = rng.choice(JOBS)
        if r < 0.70:
            self.one_run(j, seed)
        elif r < 0.82:
            # identical runs at once (a burst of the same cron job)
            ts = [threading.Thread(target=self.one_run, args=(j, seed * 8 + k))
                  for k in range(3)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        elif r < 0.88:
            rc, out, err, _, inj = self.pk(["gc", "--max-age", "2s"], seed)
            with self.lock:
                self.n["gc"] += 1
            self.judge_admin("gc", rc, err, seed, inj)
        elif r < 0.94:
            rc, out, err, _, inj = self.pk(["rm", "--match", "* %s *" % j], seed)
            with self.lock:
                self.n["rm"] += 1
            self.judge_admin("rm", rc, err, seed, inj)
        else:
            self.one_run(j, seed, kill_after=rng.random() * 0.03)
        with self.lock:
            self.n["ops"] += 1

    def message_faulted(self):
        """A silent failure whose message could not be written: one of the
        run's faults was in writing to stderr (counted, not a violation)."""
        inj, points = self.last_point.get(threading.get_ident(), (0, ""))
        if any(p.startswith(("posix/stdio/", "posix/io/rw/write")) for p in points.split(",")):
            with self.lock:
                self.n["message_lost"] += 1
            return True
        return False

    def judge_admin(self, what, rc, err, seed, injected):
        own = [l for l in err.splitlines() if l.startswith(b"pickled: ")]
        most = max(1, injected)
        if rc == 1 and not own and self.message_faulted():
            return
        if rc not in (0, 1) or len(own) > most or (rc == 1 and len(own) == 0):
            self.violation("%s: exit %d with %d lines of pickled's own" % (what, rc, len(own)),
                           seed, err)

    def checkpoint(self):
        """All settled: clean runs, verify, temporaries."""
        self.n["checks"] += 1
        tmp = os.path.join(self.cache, "tmp")
        for name in sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []:
            p = os.path.join(tmp, name)
            try:
                fd = os.open(p, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue   # held by a run in progress
            finally:
                os.close(fd)
            # PID.NS.N (lib/store.c), or gc.stamp.PID (lib/gc.c)
            pid = name.rsplit(".", 1)[1] if name.startswith("gc.stamp.") else name.split(".")[0]
            ran = self.pid_faults.get(int(pid) if pid.isdigit() else 0, "")
            if pid.isdigit() and int(pid) in self.killed_pids:
                self.n["killed_temps"] += 1
                os.unlink(p)   # as gc would, an hour later
            elif "unlink" in ran:
                # the run failed, and so did the unlink that cleans up
                self.n["unlink_temps"] += 1
                os.unlink(p)
            else:
                self.violation("temporary left without a lock: tmp/%s (its run: %s)" %
                               (name, self.pid_faults.get(int(pid) if pid.isdigit() else 0,
                                                          "a detached one")), "checkpoint")
                os.unlink(p)   # reported once
        rc, out, err, _, _ = self.pk(["verify"], None)
        if rc != 0:
            rc2, out2, _, _, _ = self.pk(["verify", "--fix"], None)
            rc3, out3, _, _, _ = self.pk(["verify"], None)
            if rc3 != 0:
                self.violation("verify --fix left a cache verify refuses: %r" % out3[:200],
                               "checkpoint")
            else:
                self.n["fixed"] += 1
                print("checkpoint: verify --fix repaired: %s" %
                      out.decode(errors="replace").strip().replace("\n", " | ")[:300], flush=True)
        for j in JOBS:
            f = os.path.join(self.w, j + ".out")
            if os.path.exists(f):
                os.unlink(f)
            rc, out, err, _, _ = self.pk(self.run_args(j), None)
            _, eo, ee, ef = self.exp[j]
            fb = open(f, "rb").read() if j in FILES and os.path.exists(f) else None
            if rc != 0 or out != eo or err != ee or (j in FILES and fb != ef):
                self.n["wrong"] += 1
                self.violation("WRONG REPLAY: a clean run of %s gave other bytes (exit %d)" %
                               (j, rc), "checkpoint", err)

    def main(self):
        a = self.a
        t0 = time.time()
        done = 0
        with cf.ThreadPoolExecutor(max_workers=a.workers) as ex:
            while done < a.runs:
                batch = range(done, min(done + a.check, a.runs))
                for fut in [ex.submit(self.op, i) for i in batch]:
                    fut.result()
                done = batch.stop
                self.checkpoint()
                print("soak: %d/%d operations, %d runs, %d faults injected, %d violations (%.0fs)" %
                      (done, a.runs, self.n["runs"], self.n["faults"], self.n["violations"],
                       time.time() - t0), flush=True)
        n = self.n
        print("soak: seed %d, probability %g, %d workers: %d operations: %d runs (%d killed "
              "with SIGKILL), %d gc, %d rm; %d faults injected in %d runs; %d runs complete "
              "(%d with a warning), %d failed in one line (%d more whose line a fault in writing "
              "stderr lost); %d checkpoints (%d repaired by "
              "verify --fix; %d temporaries of killed runs and %d of runs whose cleanup unlink failed "
              "too, left for gc); wrong replays: %d, lost outputs: "
              "%d, violations: %d; %.0fs" %
              (a.seed, a.prob, a.workers, n["ops"], n["runs"], n["killed"], n["gc"], n["rm"],
               n["faults"], n["faulted_runs"], n["complete"], n["warned"], n["failed_clean"],
               n["message_lost"], n["checks"], n["fixed"], n["killed_temps"], n["unlink_temps"],
               n["wrong"], n["lost"],
               n["violations"], time.time() - t0))
        return n["violations"] == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10000, help="operations")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prob", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--check", type=int, default=1000, help="operations between checkpoints")
    a = ap.parse_args()
    s = Soak(a)
    try:
        ok = s.main()
    finally:
        shutil.rmtree(s.w, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
