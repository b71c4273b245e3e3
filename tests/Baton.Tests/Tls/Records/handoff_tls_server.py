# Test helper for RealTlsInteropTests: a TLS server (Python's ssl, i.e. libssl) that does only the handshake,
# prints the session secrets, and then relays raw bytes between the client and a "worker" TCP endpoint, so the
# same TLS session continues between the real client and Baton's record layer.
# argv: cert key worker_port tls_version("1.2"|"1.3") keylog_path
import json, socket, ssl, sys, threading

cert, key, worker_port, version, keylog = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
ctx.minimum_version = ctx.maximum_version = v
ctx.options |= ssl.OP_NO_TICKET
ctx.num_tickets = 0            # no NewSessionTicket: the TLS 1.3 write sequence starts at 0
ctx.keylog_filename = keylog

listener = socket.create_server(("127.0.0.1", 0))
print("PORT", listener.getsockname()[1], flush=True)
client, _ = listener.accept()
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
first_flight = b""
while True:
    try:
        tls.do_handshake()
        done = True
    except ssl.SSLWantReadError:
        done = False
    out = outgoing.read()
    if out:
        first_flight = first_flight or out
        client.sendall(out)
    if done:
        break
    data = client.recv(65536)
    if not data:
        sys.exit("client closed during the handshake")
    incoming.write(data)

secrets = {"cipher": tls.cipher()[0], "version": tls.version(),
           # ServerHello: record header (5), handshake header (4), version (2), then the 32-byte random
           "server_random": first_flight[11:43].hex()}
with open(keylog) as f:
    for line in f:
        if line.startswith("#") or len(line.split()) != 3:
            continue
        label, client_random, secret = line.split()
        secrets[label] = secret
        secrets["client_random"] = client_random
worker = socket.create_connection(("127.0.0.1", worker_port))
leftover = incoming.read()     # bytes libssl had not processed go to the worker first
if leftover:
    worker.sendall(leftover)
print("SECRETS", json.dumps(secrets), flush=True)

def relay(src, dst):
    while True:
        data = src.recv(65536)
        if not data:
            dst.shutdown(socket.SHUT_WR)
            return
        dst.sendall(data)

t = threading.Thread(target=relay, args=(worker, client))
t.start()
relay(client, worker)
t.join()
