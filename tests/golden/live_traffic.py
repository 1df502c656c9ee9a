"""A live, paced packet source for a running sluiced: two veth pairs in the root namespace
(sluiced's net_af_packet ports on one end of each, raw sockets of this process on the other)
and a thread that sends new denied TCP flows and DNS query/answer pairs at a steady rate.

Why veths and not a pcap: a net_pcap port either replays a file as fast as it can (infinite_rx:
no rate, and no new flows after the first loop) or, reading a FIFO, blocks the worker inside
its receive call, which also stalls the RCU wait of every publish. net_af_packet never blocks,
and a sender that paces itself gives the same number of new flows a second on a loaded 2-core
machine as on an idle one (what it could not send in time it sends late, never not at all).

Safety: the veths carry no address, IPv6 and ARP are off on them, and every frame's
destination MAC is foreign to the kernel (PACKET_OTHERHOST), so the kernel drops them all;
addresses are from 198.18.0.0/15 only. Interfaces are named slctl-<pid><a|b|c|d> and removed
by `close()`, also when a test fails.
"""

import os
import socket
import struct
import subprocess
import threading
import time

GATEWAY_MAC = bytes.fromhex("02005e000001")
UPSTREAM_MAC = bytes.fromhex("02005e000002")
RESOLVER = "198.19.255.53"      # the golden policy's resolver
DENIED_SERVER = "198.19.77.7"   # in no allowed network: a SYN to it is denied at once
DENIED_PORT = 9000              # neither TLS nor HTTP: judged by address alone
LEARNED_BASE = (198 << 24) | (19 << 16) | (100 << 8)  # learned answers: 198.19.100.0 upwards


def _sh(*args):
    return subprocess.run(args, capture_output=True, text=True)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def _ipv4(src, dst, proto, payload, ident):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def _l4_checksum(src, dst, proto, segment):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, len(segment))
    return _checksum(pseudo + segment)


def host_mac(address):
    return b"\x02" + socket.inet_aton(address)[-4:].rjust(5, b"\0")


def tcp_syn(src, sport, dst, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", _l4_checksum(src, dst, 6, tcp)) + tcp[18:]
    return GATEWAY_MAC + host_mac(src) + b"\x08\x00" + _ipv4(src, dst, 6, tcp, sport)


def _udp(src, sport, dst, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return udp[:6] + struct.pack("!H", _l4_checksum(src, dst, 17, udp) or 0xFFFF) + udp[8:]


def _qname(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def dns_pair(client, sport, name, address, ttl=3600):
    """(query on the inside port, the resolver's A answer on the outside port)."""
    question = _qname(name) + struct.pack("!HH", 1, 1)
    query_id = sport & 0xFFFF
    query = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question
    answer = (struct.pack("!HHHHHH", query_id, 0x8180, 1, 1, 0, 0) + question +
              struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) + struct.pack("!I", address))
    query_frame = GATEWAY_MAC + host_mac(client) + b"\x08\x00" + _ipv4(
        client, RESOLVER, 17, _udp(client, sport, RESOLVER, 53, query), sport)
    answer_frame = host_mac(client) + UPSTREAM_MAC + b"\x08\x00" + _ipv4(
        RESOLVER, client, 17, _udp(RESOLVER, 53, client, sport, answer), sport + 1)
    return query_frame, answer_frame


class Veths:
    """Two veth pairs: inside (sluiced: `inside`, sender: its peer) and outside likewise."""

    def __init__(self):
        tag = f"slctl-{os.getpid() % 100000}"
        self.inside, self.inside_peer = tag + "a", tag + "b"
        self.outside, self.outside_peer = tag + "c", tag + "d"
        self.created = []
        try:
            for ours, peer in ((self.inside, self.inside_peer), (self.outside, self.outside_peer)):
                _sh("ip", "link", "del", ours)  # left by a killed earlier run
                result = _sh("ip", "link", "add", ours, "type", "veth", "peer", "name", peer)
                if result.returncode:
                    raise RuntimeError(f"ip link add {ours}: {result.stderr}")
                self.created.append(ours)
                for name in (ours, peer):
                    _sh("sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=1")
                    _sh("ip", "link", "set", name, "arp", "off", "multicast", "off", "up")
        except Exception:
            self.close()
            raise

    def close(self):
        for name in self.created:
            _sh("ip", "link", "del", name)  # takes its peer with it
        self.created = []


class Pump:
    """Sends, every 10 ms, the share of `denials_per_s` new denied SYNs and `answers_per_s`
    DNS queries (their answers follow ANSWER_DELAY_TICKS later, once the query's flow exists)
    until stopped. Counts what it sent."""

    ANSWER_DELAY_TICKS = 5

    TICK_S = 0.01

    def __init__(self, veths, denials_per_s, answers_per_s, client_net="198.18.1."):
        self.veths = veths
        self.denials_per_s = denials_per_s
        self.answers_per_s = answers_per_s
        self.client_net = client_net
        self.denials_sent = 0
        self.answers_sent = 0
        self._stop = threading.Event()
        self._thread = None
        self.error = None

    def _socket(self, interface):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((interface, 0))
        return sock

    def _client(self, n):
        return self.client_net + str(10 + (n // 40000) % 200)  # .10 upwards: the restricted policy

    def _run(self):
        inside = self._socket(self.veths.inside_peer)
        outside = self._socket(self.veths.outside_peer)
        started = time.monotonic()
        answers_due = []  # (tick due, frame)
        tick = 0
        try:
            while not self._stop.is_set():
                tick += 1
                while answers_due and answers_due[0][0] <= tick:
                    outside.send(answers_due.pop(0)[1])
                    self.answers_sent += 1
                elapsed = time.monotonic() - started
                while self.denials_sent < int(elapsed * self.denials_per_s):
                    n = self.denials_sent
                    inside.send(tcp_syn(self._client(n), 10000 + n % 40000, DENIED_SERVER, DENIED_PORT))
                    self.denials_sent += 1
                queued = self.answers_sent + len(answers_due)
                while queued < int(elapsed * self.answers_per_s):
                    n = queued
                    query, answer = dns_pair(self._client(n), 10000 + n % 40000, f"h{n}.github.com",
                                             LEARNED_BASE + n)
                    inside.send(query)
                    answers_due.append((tick + self.ANSWER_DELAY_TICKS, answer))
                    queued += 1
                time.sleep(self.TICK_S)
            time.sleep(self.TICK_S * self.ANSWER_DELAY_TICKS)
            for _, frame in answers_due:
                outside.send(frame)
                self.answers_sent += 1
        except Exception as error:  # reported by stop()
            self.error = error
        finally:
            inside.close()
            outside.close()

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        if self.error:
            raise self.error
