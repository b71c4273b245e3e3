"""What the benchmark clients share: a TLS client context that trusts the bench's self-signed certificate, and
reading one HTTP/1.1 response framed by Content-Length (the bench's servers all send one)."""
import ssl


def client_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def read_response(tls):
    """Reads one response head and its Content-Length body; raises ConnectionError if the server closes first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = tls.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response body")
        body += chunk
