#!/usr/bin/env python3
"""forge.py: rewrites a genuine entry the way someone who can write to a
shared Redis could (security.bats); the checksum is left stale: reseal it
with tests/stress/reseal.c.  Needs the zstd command for `bomb`.

    forge.py FILE bomb MIB      stdout frame expanding to MIB MiB of 'A'
                                (the metadata still declares the original)
    forge.py FILE mode OCTAL    every output file's recorded mode
    forge.py FILE args N        N more empty arguments in the metadata
"""
import struct
import subprocess
import sys

M_ARG = 2      # lib/meta.c
M_FILE = 24


def split(data):
    stdio_len, files_len, meta_len = struct.unpack_from("<QQQ", data, 16)
    stdio = data[64:64 + stdio_len]
    files = data[64 + stdio_len:64 + stdio_len + files_len]
    meta = data[len(data) - meta_len:]
    return bytearray(data[:64]), stdio, files, meta


def join(header, stdio, files, meta):
    struct.pack_into("<QQQ", header, 16, len(stdio), len(files), len(meta))
    return bytes(header) + stdio + files + meta


def fields(meta):
    off = 0
    while off + 5 <= len(meta):
        tag = meta[off]
        n = struct.unpack_from("<I", meta, off + 1)[0]
        yield tag, bytes(meta[off + 5:off + 5 + n])
        off += 5 + n


def field(tag, value):
    return bytes([tag]) + struct.pack("<I", len(value)) + value


def main():
    path, op, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(path, "rb") as f:
        header, stdio, files, meta = split(f.read())
    if op == "bomb":
        chunk = b"A" * (1 << 20)
        rec = bytes([1]) + struct.pack("<I", len(chunk)) + chunk
        z = subprocess.Popen(["zstd", "-q", "-c", "-1"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        out = bytearray()
        import threading
        t = threading.Thread(target=lambda: out.extend(z.stdout.read()))
        t.start()
        for _ in range(int(arg)):
            z.stdin.write(rec)
        z.stdin.close()
        t.join()
        z.wait()
        stdio = bytes(out)
    elif op == "mode":
        new = bytearray()
        for tag, value in fields(meta):
            if tag == M_FILE:
                value = struct.pack("<I", int(arg, 8)) + value[4:]
            new += field(tag, value)
        meta = bytes(new)
    elif op == "args":
        extra = field(M_ARG, b"") * int(arg)
        meta = extra + bytes(meta)
    else:
        raise SystemExit("forge.py: unknown operation " + op)
    with open(path, "wb") as f:
        f.write(join(header, stdio, files, meta))


if __name__ == "__main__":
    main()
