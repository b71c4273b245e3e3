#!/usr/bin/env python3
"""Opens N TLS connections, sends one keep-alive request on each, reads the answer, then keeps them all idle.

usage: idle_clients.py HOST PORT N PATH
Prints "opened K failed F" once every connection was tried, then holds them until SIGTERM/SIGINT.
One request per connection is what makes Baton's handoff mode hand the connection to a worker
(the front reads the first request before handing off); nginx gets the same request for a fair comparison.
"""
import signal
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from tls_client import client_context, read_response


def open_one(context, host, port, path):
    raw = socket.create_connection((host, port), timeout=30)
    tls = context.wrap_socket(raw, server_hostname="localhost")
    tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    read_response(tls)
    return tls


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, count, path = argv[1], int(argv[2]), int(argv[3]), argv[4]
    context = client_context()
    held, errors, lock = [], [], threading.Lock()

    def worker(n):
        for _ in range(n):
            try:
                conn = open_one(context, host, port, path)
                with lock:
                    held.append(conn)
            except OSError as e:
                with lock:
                    errors.append(repr(e))
                if len(errors) > 20:
                    return

    threads = 4
    with ThreadPoolExecutor(threads) as pool:
        for i in range(threads):
            pool.submit(worker, count // threads + (1 if i < count % threads else 0))
    print(f"opened {len(held)} failed {len(errors)}", flush=True)
    if errors:
        print(f"first error: {errors[0]}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    for conn in held:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
