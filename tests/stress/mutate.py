#!/usr/bin/env python3
"""mutate.py: damages a stored entry the way a bad disk or a crash would,
deterministically from a seed, for corruption.bats.

    mutate.py FILE SEED flip       xor one byte at a random offset
    mutate.py FILE SEED truncate   cut the file at a random length
    mutate.py FILE SEED created    make the creation time 20 days older
                                   (a flip that makes the entry look expired)
    mutate.py FILE KEY rekey [PATH]
                                   a forgery: claim key KEY (32 hex digits)
                                   and, given PATH, name every output file
                                   PATH; the checksum is left stale (see
                                   reseal.c)

Prints what it did on one line."""
import random
import struct
import sys

META_TAG_KEY = 1        # M_KEY in lib/meta.c
META_TAG_CREATED = 17   # M_CREATED
META_TAG_FILE = 24      # M_FILE


def field_offset(data, tag):
    """Offset of the value of the first metadata field with this tag."""
    meta_len = struct.unpack_from("<Q", data, 32)[0]
    off = len(data) - meta_len
    while off + 5 <= len(data):
        t = data[off]
        n = struct.unpack_from("<I", data, off + 1)[0]
        if t == tag:
            return off + 5
        off += 5 + n
    raise SystemExit("mutate.py: no metadata field %d" % tag)


def rekey(data, key_hex, out_path):
    """The entry with its metadata rewritten: new key, output paths."""
    meta_len = struct.unpack_from("<Q", data, 32)[0]
    body, meta = data[:len(data) - meta_len], data[len(data) - meta_len:]
    out = bytearray()
    off = 0
    while off + 5 <= len(meta):
        tag = meta[off]
        n = struct.unpack_from("<I", meta, off + 1)[0]
        value = bytes(meta[off + 5:off + 5 + n])
        off += 5 + n
        if tag == META_TAG_KEY:
            value = bytes.fromhex(key_hex)
        elif tag == META_TAG_FILE and out_path is not None:
            value = value[:12] + out_path.encode()
        out += bytes([tag]) + struct.pack("<I", len(value)) + value
    struct.pack_into("<Q", body, 32, len(out))
    return body + out


def main():
    if sys.argv[3] == "rekey":
        path = sys.argv[1]
        with open(path, "rb") as f:
            data = bytearray(f.read())
        out_path = sys.argv[4] if len(sys.argv) > 4 else None
        with open(path, "wb") as f:
            f.write(rekey(data, sys.argv[2], out_path))
        print("claims key %s, outputs %s" % (sys.argv[2], out_path))
        return
    path, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    size = len(data)
    if mode == "flip":
        off = rng.randrange(size)
        mask = rng.randrange(1, 256)
        data[off] ^= mask
        what = "flip byte %d of %d with 0x%02x" % (off, size, mask)
    elif mode == "truncate":
        n = rng.randrange(size)
        del data[n:]
        what = "truncate %d bytes to %d" % (size, n)
    elif mode == "created":
        off = field_offset(data, META_TAG_CREATED)
        ms = struct.unpack_from("<q", data, off)[0]
        struct.pack_into("<q", data, off, ms - 20 * 86400 * 1000)
        what = "creation time at %d moved 20 days back" % off
    else:
        raise SystemExit("mutate.py: unknown mode " + mode)
    # Rewrite in place, as a disk would: same inode.
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(data)
    print(what)


if __name__ == "__main__":
    main()
