"""A small client the tests run inside a client namespace (`ip netns exec sle2e-cN`).

    netclient.py tls ADDRESS PORT SNI CAFILE      TLS handshake (python's ssl) and one GET
    netclient.py session ADDRESS PORT SNI CAFILE  the same, then one more GET on the same
                                                  connection per line read on stdin
    netclient.py tcp ADDRESS PORT MESSAGE         connect, send, read the echo
    netclient.py udp ADDRESS PORT [WAIT]          one datagram on a connected socket, await a reply
    netclient.py resolve-connect RESOLVER NAME A|AAAA PORT MESSAGE
                                                  ask RESOLVER, then at once `tcp` to the answer

Prints one JSON object a line: ok, error, errno (name, e.g. ECONNRESET), elapsed (seconds,
measured here, without interpreter start-up), local_port, body.
"""

import errno
import json
import socket
import ssl
import sys
import time

TIMEOUT_S = 5


class ClosedEarly(ConnectionError):
    """recv() returned end of stream before the answer was complete."""


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def report(started, ok, *, error=None, local_port=0, body=""):
    err = None
    if isinstance(error, LookupError):
        err = "NOANSWER"
    elif isinstance(error, (ssl.SSLEOFError, ClosedEarly)):
        err = "EOF"  # the peer's connection ended (a FIN, or a reset that arrived before recv)
    elif isinstance(error, ssl.SSLError):
        err = "SSL_" + (error.reason or str(error.errno))
    elif isinstance(error, OSError) and error.errno:
        err = errno.errorcode.get(error.errno, str(error.errno))
    elif isinstance(error, socket.timeout):
        err = "TIMEOUT"
    print(json.dumps({"ok": ok, "error": None if error is None else f"{type(error).__name__}: {error}",
                      "errno": err, "elapsed": round(time.monotonic() - started, 4),
                      "local_port": local_port, "body": body}), flush=True)


def read_response(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ClosedEarly("connection closed before the response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        rest += chunk
    return head.split(b"\r\n")[0].decode() + "\n" + rest.decode(errors="replace")


def request(conn, host):
    conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: e2e-netclient\r\n\r\n".encode())
    return read_response(conn)


def tls(address, port, sni, cafile, session=False):
    started = time.monotonic()
    local_port = 0
    context = ssl.create_default_context(cafile=cafile)
    try:
        raw = socket.create_connection((address, int(port)), timeout=TIMEOUT_S)
        local_port = raw.getsockname()[1]
        conn = context.wrap_socket(raw, server_hostname=sni)
        body = request(conn, sni)
        report(started, True, local_port=local_port, body=body)
    except (OSError, ssl.SSLError, ConnectionError) as error:
        report(started, False, error=error, local_port=local_port)
        return
    if not session:
        conn.close()
        return
    for _ in sys.stdin:
        started = time.monotonic()
        try:
            report(started, True, local_port=local_port, body=request(conn, sni))
        except (OSError, ssl.SSLError, ConnectionError) as error:
            report(started, False, error=error, local_port=local_port)
            return


def tcp(address, port, message):
    started = time.monotonic()
    local_port = 0
    try:
        conn = socket.create_connection((address, int(port)), timeout=TIMEOUT_S)
        local_port = conn.getsockname()[1]
        conn.sendall(message.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                raise ClosedEarly("connection closed before the echo")
            data += chunk
        conn.close()
        report(started, True, local_port=local_port, body=data.decode().rstrip("\n"))
    except (OSError, ConnectionError) as error:
        report(started, False, error=error, local_port=local_port)


def udp(address, port, timeout=TIMEOUT_S):
    started = time.monotonic()
    sock = socket.socket(family_of(address), socket.SOCK_DGRAM)
    sock.settimeout(float(timeout))
    try:
        sock.connect((address, int(port)))
        local_port = sock.getsockname()[1]
        sock.send(b"e2e udp probe\n")
        data = sock.recv(4096)
        report(started, True, local_port=local_port, body=data.decode(errors="replace"))
    except OSError as error:
        report(started, False, error=error, local_port=sock.getsockname()[1])


def dns_query(name, qtype):
    header = bytes([0x4e, 0x32, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
    question = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return header + question + (28 if qtype == "AAAA" else 1).to_bytes(2, "big") + b"\0\1"


def skip_name(data, offset):
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length
        if length == 0:
            return offset


def dns_addresses(data, qtype):
    """The A or AAAA addresses of an answer section (enough for dnsmasq's plain answers)."""
    count = int.from_bytes(data[6:8], "big")
    offset = skip_name(data, 12) + 4
    family, rtype = (socket.AF_INET6, 28) if qtype == "AAAA" else (socket.AF_INET, 1)
    found = []
    for _ in range(count):
        offset = skip_name(data, offset)
        kind = int.from_bytes(data[offset:offset + 2], "big")
        length = int.from_bytes(data[offset + 8:offset + 10], "big")
        rdata = data[offset + 10:offset + 10 + length]
        offset += 10 + length
        if kind == rtype:
            found.append(socket.inet_ntop(family, rdata))
    return found


def resolve_connect(resolver, name, qtype, port, message):
    """What a database client does: resolve, then connect to the answer at once (no pause
    between the answer and the SYN, unlike dig followed by another command)."""
    started = time.monotonic()
    sock = socket.socket(family_of(resolver), socket.SOCK_DGRAM)
    sock.settimeout(TIMEOUT_S)
    try:
        sock.connect((resolver, 53))
        sock.send(dns_query(name, qtype))
        addresses = dns_addresses(sock.recv(4096), qtype)
    except OSError as error:
        report(started, False, error=error)
        return
    if not addresses:
        report(started, False, error=LookupError(f"no {qtype} answer for {name}"))
        return
    tcp(addresses[0], port, message)


def main():
    mode, *args = sys.argv[1:]
    if mode == "tls":
        tls(*args)
    elif mode == "session":
        tls(*args, session=True)
    elif mode == "tcp":
        tcp(*args)
    elif mode == "udp":
        udp(*args)
    elif mode == "resolve-connect":
        resolve_connect(*args)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
