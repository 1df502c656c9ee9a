"""Timed, in-process clients of a running sluiced (no process start-up in the measured time):
the admin socket as sluicectl speaks it, and one HTTP GET."""

import http.client
import socket
import time


def admin_request(socket_path, command, timeout=30):
    """(seconds, answer) of one admin-socket request: the line sent, the answer read to EOF."""
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(socket_path))
        try:
            sock.sendall(command.encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the line went out ("busy"): the answer is there
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return time.monotonic() - started, b"".join(chunks).decode()


def http_request(address, path, timeout=30):
    """(seconds, status, body) of GET http://address/path."""
    host, port = address.rsplit(":", 1)
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode()
        return time.monotonic() - started, response.status, body
    finally:
        connection.close()


def idle_tcp(address):
    """A connected TCP socket that never sends: a stuck or malicious client."""
    host, port = address.rsplit(":", 1)
    return socket.create_connection((host, int(port)))


def silent_admin(socket_path):
    """A connected admin client that never sends its request line."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(socket_path))
    return sock
