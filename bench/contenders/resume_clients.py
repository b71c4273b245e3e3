#!/usr/bin/env python3
"""Resumed TLS handshakes for bench/compare.sh: one full handshake, then connection after connection resuming.

usage: resume_clients.py HOST PORT PATH SECONDS
Each connection sends one "GET PATH HTTP/1.1" with "Connection: close", reads the response (Content-Length)
and closes. The first connection is a full handshake; every later one offers the newest session the
previous connection received (with TLS 1.3, the ticket the server sent after the handshake), as a browser
uses each ticket once. Prints "connections N resumed R errors E seconds S" at the end; R counts the
connections whose ServerHello accepted the offered session (SSL_session_reused), so the server's side of
resumption is checked, not assumed.

Why not `openssl s_time -reuse`: s_time reads each response until the server closes, and a server that
closes without close_notify (Kestrel, so YARP and Kestrel HTTPS) makes OpenSSL send a fatal alert and mark
the session not resumable, so s_time never resumes against them although any browser would. This client
stops reading at Content-Length and keeps the session it already holds.
"""
import socket
import sys
import time

from tls_client import client_context, read_response


def one_connection(context, address, request, session):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(30)
        raw.connect(address)
        tls = context.wrap_socket(raw, server_hostname="localhost", session=session)
        tls.sendall(request)
        read_response(tls)
        # The newest session: after a TLS 1.3 handshake the server's tickets came before the response.
        return tls.session, tls.session_reused
    finally:
        raw.close()


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    address, path, seconds = (argv[1], int(argv[2])), argv[3], float(argv[4])
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    context = client_context()
    session, _ = one_connection(context, address, request, None)
    connections = resumed = errors = 0
    first_error = None
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        try:
            newest, reused = one_connection(context, address, request, session)
        except (OSError, ValueError) as e:
            errors += 1
            first_error = first_error or repr(e)
            if errors > 100:
                break
            continue
        connections += 1
        resumed += reused
        if newest is not None:
            session = newest
    print(f"connections {connections} resumed {resumed} errors {errors} seconds {time.monotonic() - start:.3f}", flush=True)
    if first_error:
        print(f"first error: {first_error}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
