"""A UDP sink on port 443 of the given addresses: it reads every datagram and answers nothing.

No QUIC server is needed for an Initial to be judged; the sink only keeps the server's kernel
from answering with ICMP port unreachable (which would make Chromium give up at once), so
Chromium retransmits its Initials as it would to a slow server. Runs in the server namespace."""

import selectors
import socket
import sys


def main(addresses):
    selector = selectors.DefaultSelector()
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, 443))
        selector.register(sock, selectors.EVENT_READ)
    print("listening", flush=True)
    while True:
        for key, _ in selector.select():
            key.fileobj.recvfrom(65535)


if __name__ == "__main__":
    main(sys.argv[1:])
