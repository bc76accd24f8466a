#!/usr/bin/env python3
"""outcomes.py: does a traced run's record of each path say what every file
system call on that path found?  (issue #15: the tracer takes one stop per
watched call, at its entry, and never asks for the call's exit; this
measures whether an exit stop was ever needed.)

Usage: outcomes.py RECORDS STRACE CWD
  RECORDS  "PATH KIND" lines: the traced inputs `pickled show` lists
           (file, absent, listing, link, exists), and "PATH written" for
           the files the run wrote
  STRACE   `strace -f -y -qq -e trace=%file -o STRACE` of the same command,
           run untraced on the same files
  CWD      the command's working directory

For each call on a path (not /proc, /sys, /dev, not one the run wrote): the
path must have a record, and a call that succeeded must find it there, one
that failed with ENOENT or ENOTDIR must find it absent.  Other failures
(EINVAL of readlink on a file, EACCES, ELOOP...) follow from the kind the
record holds and are counted apart.  Prints the counts; exits 1 when a call
has no record or disagrees with it, naming each.
"""
import os
import re
import sys

LINE = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<[^>]*>)?(?:\s+(\w+))?')
DIRFD = re.compile(r'^(AT_FDCWD|\d+)<([^>]*)>,\s*"((?:[^"\\]|\\.)*)"')
FIRST = re.compile(r'^"((?:[^"\\]|\\.)*)"')
# Calls whose first argument is a path relative to the process's cwd.
PLAIN = {'open', 'creat', 'stat', 'lstat', 'access', 'readlink', 'execve', 'chdir',
         'statfs', 'truncate', 'unlink', 'rmdir', 'mkdir', 'mknod', 'rename', 'link',
         'symlink'}
IGNORED = ('/proc', '/sys', '/dev')


def main():
    records, strace, cwd0 = sys.argv[1:4]
    kind, written = {}, set()
    for line in open(records):
        path, k = line.rstrip('\n').rsplit(' ', 1)
        if k == 'written':
            written.add(path)
        else:
            kind[path] = k
    cwd = {}
    calls = agree = other = 0
    wrong = []
    for line in open(strace):
        m = LINE.match(line)
        if not m:
            continue
        pid, name, args, ret, err = m.groups()
        d = DIRFD.match(args)
        if d:
            base, path = d.group(2), d.group(3)
            if d.group(1) == 'AT_FDCWD':
                cwd[pid] = base
        else:
            f = FIRST.match(args)
            if not f or name not in PLAIN:
                continue
            base, path = cwd.get(pid, cwd0), f.group(1)
        if path == '':
            continue  # AT_EMPTY_PATH: the descriptor itself
        path = os.path.normpath(os.path.join(base, path))
        if name == 'chdir' and int(ret) == 0:
            cwd[pid] = path
        if path.startswith(IGNORED) or path in written:
            continue
        calls += 1
        k = kind.get(path)
        if k is None:
            wrong.append(f'{name} {path} = {ret} {err or ""}: no record')
        elif int(ret) >= 0 and k == 'absent':
            wrong.append(f'{name} {path} = {ret}: recorded absent')
        elif err in ('ENOENT', 'ENOTDIR') and k != 'absent':
            wrong.append(f'{name} {path} = {err}: recorded {k}')
        elif int(ret) < 0 and err not in ('ENOENT', 'ENOTDIR'):
            other += 1
        else:
            agree += 1
    print(f'calls {calls}, agree {agree}, other errors {other}, wrong {len(wrong)}')
    for w in wrong:
        print(w)
    return 1 if wrong else 0


if __name__ == '__main__':
    sys.exit(main())
