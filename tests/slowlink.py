#!/usr/bin/env python3
"""slowlink.py TARGET_PORT RATE: a TCP proxy on a free loopback port to
127.0.0.1:TARGET_PORT that moves at most RATE bytes a second each way (a
slow link, for the shared tier's tests).  Prints its port, then serves until
killed.  Reads in small pieces at the rate, so the sender's socket drains at
the link's speed, as it would on a real one."""
import socket
import sys
import threading
import time

PIECE = 65536


def pump(src, dst, rate):
    start = time.monotonic()
    moved = 0
    try:
        while True:
            data = src.recv(PIECE)
            if not data:
                break
            dst.sendall(data)
            moved += len(data)
            ahead = start + moved / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    target, rate = int(sys.argv[1]), float(sys.argv[2])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)
    while True:
        client, _ = ls.accept()
        server = socket.create_connection(("127.0.0.1", target))
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=pump, args=(a, b, rate), daemon=True).start()


if __name__ == "__main__":
    main()
