"""A plain TCP echo server (the "database" only DNS names): echo_server.py ADDR... PORT.

Every line it receives is sent back as is; one thread a connection.
"""

import socket
import socketserver
import sys
import threading


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class Server4(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Server6(Server4):
    address_family = socket.AF_INET6


def main():
    *addresses, port = sys.argv[1:]
    servers = [(Server6 if ":" in a else Server4)((a, int(port)), Echo) for a in addresses]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
