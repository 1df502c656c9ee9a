"""Frames for the appliance's ports, built with scapy, reproducible to the byte.

Addresses come only from 198.18.0.0/15 and 2001:db8::/32. MACs, ports, sequence numbers,
IP ids and capture timestamps are all fixed, so writing the same packets twice gives
byte-identical pcap files.
"""

import ipaddress
import struct
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, TCPerror, UDPerror
from scapy.layers.inet6 import ICMPv6DestUnreach, IPerror6, IPv6
from scapy.packet import Raw
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

# The inside hosts' next hop (the router the appliance sits in front of) and the hosts.
GATEWAY_MAC = "02:00:5e:00:00:01"
UPSTREAM_MAC = "02:00:5e:00:00:02"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"

# 2026-01-01T00:00:00Z; every packet is 1 ms after the previous one.
BASE_TIME = 1767225600
TIME_STEP_US = 1000

TEST_NETWORKS = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32"))


def check_address(address):
    ip = ipaddress.ip_address(address)
    if not any(ip in net for net in TEST_NETWORKS):
        raise ValueError(f"{address} is outside 198.18.0.0/15 and 2001:db8::/32")
    return address


def host_mac(address):
    """A fixed, locally administered MAC derived from the host's address."""
    packed = ipaddress.ip_address(address).packed
    return "02:" + ":".join(f"{b:02x}" for b in packed[-5:].rjust(5, b"\x00"))


def is_v6(address):
    return ipaddress.ip_address(address).version == 6


def l2(src_mac, dst_mac, vlan=None):
    """Ethernet header, with one 802.1Q tag when vlan is an int VLAN id, or an 802.1ad (QinQ)
    outer tag and an 802.1Q inner tag when it is a pair (outer, inner)."""
    frame = Ether(src=src_mac, dst=dst_mac)
    if isinstance(vlan, tuple):
        frame = frame / Dot1AD(vlan=vlan[0], prio=0) / Dot1Q(vlan=vlan[1], prio=0)
    elif vlan is not None:
        frame = frame / Dot1Q(vlan=vlan, prio=0)
    return frame


def reply_l2(pkt, swap=True):
    """The packet's L2 header (every VLAN tag kept), MAC addresses swapped when `swap`."""
    eth = pkt[Ether]
    frame = Ether(src=eth.dst, dst=eth.src) if swap else Ether(src=eth.src, dst=eth.dst)
    layer = eth.payload
    while isinstance(layer, (Dot1AD, Dot1Q)):
        frame = frame / layer.__class__(prio=layer.prio, id=layer.id, vlan=layer.vlan)
        layer = layer.payload
    return frame


def l3(src, dst, ip_id=1):
    check_address(src)
    check_address(dst)
    if is_v6(src):
        return IPv6(src=src, dst=dst, hlim=64, tc=0, fl=0)
    return IP(src=src, dst=dst, ttl=64, id=ip_id, flags="DF", tos=0)


def finish(pkt):
    """Compute lengths and checksums now, so the packet's bytes never change again."""
    return pkt.__class__(bytes(pkt))


SYN_OPTIONS = [("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None),
               ("WScale", 7)]


class TcpFlow:
    """One TCP connection from an inside client, with sequence numbers of a plausible handshake.

    Client packets go to the gateway MAC; server packets come from it (seen on the outside port).
    """

    def __init__(self, client, sport, server, dport, *, isn=None, server_isn=None, vlan=None,
                 client_mac=None):
        self.client, self.sport, self.server, self.dport = client, sport, server, dport
        self.vlan = vlan
        self.client_mac = client_mac or host_mac(client)
        self.isn = isn if isn is not None else (0x1000_0000 + sport * 7919) & 0xFFFFFFFF
        self.server_isn = (server_isn if server_isn is not None
                           else (0x8000_0000 + dport * 104729 + sport) & 0xFFFFFFFF)
        self.client_next = self.isn          # next sequence number the client sends
        self.server_next = self.server_isn   # next sequence number the server sends
        self.client_ip_id = 0x1000 + (sport & 0x0FFF)
        self.server_ip_id = 0x2000 + (sport & 0x0FFF)

    # Client side (arrives on the inside port).
    def _client(self, flags, payload=b"", seq=None, ack=None, options=None):
        self.client_ip_id += 1
        pkt = (l2(self.client_mac, GATEWAY_MAC, self.vlan)
               / l3(self.client, self.server, self.client_ip_id)
               / TCP(sport=self.sport, dport=self.dport, flags=flags,
                     seq=self.client_next if seq is None else seq,
                     ack=ack if ack is not None else 0, window=64240, options=options or []))
        if payload:
            pkt = pkt / payload
        return finish(pkt)

    def syn(self):
        pkt = self._client("S", seq=self.isn, ack=0, options=SYN_OPTIONS)
        self.client_next = self.isn + 1
        return pkt

    def ack(self):
        return self._client("A", ack=self._server_ack())

    def data(self, payload):
        pkt = self._client("PA", payload, ack=self._server_ack())
        self.client_next += len(payload)
        return pkt

    def fin(self):
        pkt = self._client("FA", ack=self._server_ack())
        self.client_next += 1
        return pkt

    def _server_ack(self):
        # After the handshake the client acknowledges the server's SYN (+ data it was sent).
        return (self.server_next if self.server_next != self.server_isn
                else self.server_isn + 1) & 0xFFFFFFFF

    # Server side (arrives on the outside port).
    def _server(self, flags, payload=b"", options=None):
        self.server_ip_id += 1
        pkt = (l2(UPSTREAM_MAC, self.client_mac, self.vlan)
               / l3(self.server, self.client, self.server_ip_id)
               / TCP(sport=self.dport, dport=self.sport, flags=flags, seq=self.server_next,
                     ack=self.client_next & 0xFFFFFFFF, window=65160, options=options or []))
        if payload:
            pkt = pkt / payload
        return finish(pkt)

    def syn_ack(self):
        pkt = self._server("SA", options=SYN_OPTIONS)
        self.server_next = self.server_isn + 1
        return pkt

    def server_data(self, payload):
        pkt = self._server("PA", payload)
        self.server_next += len(payload)
        return pkt

    def key(self):
        return flow_key_of(self.client, self.sport, self.server, self.dport, "TCP")


def udp_packet(src, sport, dst, dport, payload, *, vlan=None, ip_id=1, src_mac=None,
               dst_mac=GATEWAY_MAC):
    pkt = (l2(src_mac or host_mac(src), dst_mac, vlan) / l3(src, dst, ip_id)
           / UDP(sport=sport, dport=dport) / payload)
    return finish(pkt)


def dns_query(src, sport, resolver, qname, *, query_id=0x1234, vlan=None):
    query = DNS(id=query_id, rd=1, qd=DNSQR(qname=qname, qtype="A"))
    return udp_packet(src, sport, resolver, 53, query, vlan=vlan)


def dns_answer(query_pkt, address, ttl=300):
    """The resolver's answer to `query_pkt` (seen on the outside port)."""
    ipl = query_pkt[IP] if IP in query_pkt else query_pkt[IPv6]
    udp = query_pkt[UDP]
    dns = query_pkt[DNS]
    answer = DNS(id=dns.id, qr=1, rd=1, ra=1, qd=dns.qd,
                 an=DNSRR(rrname=dns.qd.qname, type="A", ttl=ttl, rdata=address))
    return udp_packet(ipl.dst, 53, ipl.src, udp.sport, answer, src_mac=UPSTREAM_MAC,
                      dst_mac=query_pkt[Ether].src, ip_id=0x3000 + (udp.sport & 0xFFF))


def arp_request(sender, target, sender_mac=None):
    check_address(sender)
    check_address(target)
    mac = sender_mac or host_mac(sender)
    return finish(Ether(src=mac, dst=BROADCAST_MAC)
                  / ARP(op="who-has", hwsrc=mac, psrc=sender, hwdst="00:00:00:00:00:00",
                        pdst=target))


def ipv4_fragments(src, sport, dst, dport, payload, first_length, fragment_id=0x4242):
    """A UDP datagram split into two IPv4 fragments (the first carries the UDP header)."""
    whole = bytes(UDP(sport=sport, dport=dport) / payload)
    whole = bytes(UDP(whole))  # lengths and checksum filled in
    assert first_length % 8 == 0
    first = finish(l2(host_mac(src), GATEWAY_MAC)
                   / IP(src=src, dst=dst, ttl=64, id=fragment_id, flags="MF", frag=0, proto=17)
                   / whole[:first_length])
    second = finish(l2(host_mac(src), GATEWAY_MAC)
                    / IP(src=src, dst=dst, ttl=64, id=fragment_id, flags=0, frag=first_length // 8,
                         proto=17)
                    / whole[first_length:])
    return [first, second]


def http_get(host, path="/", extra_headers=()):
    """A request head; host=None leaves the Host header out."""
    lines = [f"GET {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += list(extra_headers)
    lines += ["User-Agent: sluice-golden/1", "Accept: */*"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def flow_key_of(a, a_port, b, b_port, protocol):
    """A direction-free key of a flow, so packets of both directions map to it."""
    ends = sorted([(str(ipaddress.ip_address(a)), a_port), (str(ipaddress.ip_address(b)), b_port)])
    return (protocol, ends[0], ends[1])


def flow_key(pkt):
    """The direction-free key of a packet, or None for ARP and non-TCP/UDP. An ICMP error
    belongs to the flow of the packet it quotes."""
    if IPerror in pkt or IPerror6 in pkt:
        ipl = pkt[IPerror] if IPerror in pkt else pkt[IPerror6]
        if UDPerror in ipl:
            return flow_key_of(ipl.src, ipl[UDPerror].sport, ipl.dst, ipl[UDPerror].dport, "UDP")
        if TCPerror in ipl:
            return flow_key_of(ipl.src, ipl[TCPerror].sport, ipl.dst, ipl[TCPerror].dport, "TCP")
        return None
    if IP in pkt:
        ipl = pkt[IP]
    elif IPv6 in pkt:
        ipl = pkt[IPv6]
    else:
        return None
    if TCP in pkt:
        l4, proto = pkt[TCP], "TCP"
    elif UDP in pkt:
        l4, proto = pkt[UDP], "UDP"
    else:
        return None
    return flow_key_of(ipl.src, l4.sport, ipl.dst, l4.dport, proto)


def expected_reset(pkt):
    """The RST|ACK the appliance must send back for the deciding packet `pkt` (contract:
    seq = pkt's ack (0 without ACK), ack = seq + payload length (+1 SYN, +1 FIN), window 0,
    TTL/hop limit 64, IPv4 id 0 and DF, MACs/IPs/ports swapped, VLAN tags kept)."""
    tcp = pkt[TCP]
    payload_length = len(bytes(tcp.payload))
    flags = int(tcp.flags)
    ack = tcp.seq + payload_length + (1 if flags & 0x02 else 0) + (1 if flags & 0x01 else 0)
    seq = tcp.ack if flags & 0x10 else 0
    frame = reply_l2(pkt)
    if IP in pkt:
        frame = frame / IP(src=pkt[IP].dst, dst=pkt[IP].src, ttl=64, id=0, flags="DF", tos=0)
    else:
        frame = frame / IPv6(src=pkt[IPv6].dst, dst=pkt[IPv6].src, hlim=64, tc=0, fl=0)
    frame = frame / TCP(sport=tcp.dport, dport=tcp.sport, seq=seq & 0xFFFFFFFF,
                        ack=ack & 0xFFFFFFFF, flags="RA", window=0)
    return finish(frame)


def expected_icmp_unreachable(pkt):
    """The ICMP error the appliance must send back for a denied UDP datagram `pkt` (contract:
    IPv4 type 3 code 13 quoting the IP header and 64 bytes after it; IPv6 type 1 code 1 quoting
    up to 1232 bytes; from the denied destination to the sender, TTL/hop limit 64, IPv4 id 0
    without DF, MACs swapped, VLAN tags kept)."""
    frame = reply_l2(pkt)
    if IP in pkt:
        original = bytes(pkt[IP])[:pkt[IP].len]
        quoted = original[:pkt[IP].ihl * 4 + 64]
        frame = (frame / IP(src=pkt[IP].dst, dst=pkt[IP].src, ttl=64, id=0, flags=0, tos=0)
                 / ICMP(type=3, code=13) / Raw(quoted))
    else:
        original = bytes(pkt[IPv6])[:40 + pkt[IPv6].plen]
        frame = (frame / IPv6(src=pkt[IPv6].dst, dst=pkt[IPv6].src, hlim=64, tc=0, fl=0)
                 / ICMPv6DestUnreach(code=1) / Raw(original[:1232]))
    return finish(frame)


def expected_dns_refusal(query_pkt, rcode=3):
    """The answer the appliance must send for a UDP DNS query `query_pkt` the policy denies
    (contract: from the resolver's address and port back to the client, TTL/hop limit 64, IPv4
    id 0 without DF, MACs swapped; the query's id and question, RD copied, QR and RA set,
    `rcode` (3 NXDOMAIN, 5 REFUSED), no records)."""
    message = bytes(query_pkt[UDP].payload)
    question_length = len(bytes(DNS(message).qd[0]))
    flags = 0x8000 | (message[2] & 0x01) << 8 | 0x0080 | rcode
    echoed = (message[:2] + flags.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x00\x00\x00"
              + message[12:12 + question_length])
    frame = reply_l2(query_pkt)
    if IP in query_pkt:
        frame = frame / IP(src=query_pkt[IP].dst, dst=query_pkt[IP].src, ttl=64, id=0, flags=0, tos=0)
    else:
        frame = frame / IPv6(src=query_pkt[IPv6].dst, dst=query_pkt[IPv6].src, hlim=64, tc=0, fl=0)
    return finish(frame / UDP(sport=53, dport=query_pkt[UDP].sport) / Raw(echoed))


def expected_onward_reset(pkt, seq=None):
    """The RST|ACK the appliance sends on to the far end in place of the denied packet `pkt`
    (contract: same MACs, addresses and ports, seq = `seq` or pkt's seq, ack = pkt's ack,
    window 0, TTL/hop limit 64, IPv4 id 0 and DF)."""
    tcp = pkt[TCP]
    frame = reply_l2(pkt, swap=False)
    if IP in pkt:
        frame = frame / IP(src=pkt[IP].src, dst=pkt[IP].dst, ttl=64, id=0, flags="DF", tos=0)
    else:
        frame = frame / IPv6(src=pkt[IPv6].src, dst=pkt[IPv6].dst, hlim=64, tc=0, fl=0)
    frame = frame / TCP(sport=tcp.sport, dport=tcp.dport, seq=(tcp.seq if seq is None else seq) & 0xFFFFFFFF,
                        ack=tcp.ack, flags="RA", window=0)
    return finish(frame)


def write_timed_pcap(path, timed_packets, base_time=BASE_TIME):
    """Writes [(seconds after base_time, packet)] in order: `sluicectl replay` runs on these
    timestamps, so timeouts and DNS TTLs can be crossed without waiting."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for seconds, pkt in timed_packets:
        raw = bytes(pkt)
        usec = int(round(seconds * 1_000_000))
        out.append(struct.pack("<IIII", base_time + usec // 1_000_000, usec % 1_000_000,
                               len(raw), len(raw)))
        out.append(raw)
    Path(path).write_bytes(b"".join(out))


def dns_cname_answer(query_pkt, chain, addresses, ttl=300, cname_ttl=None, extra=()):
    """An answer following CNAMEs: `chain` = [qname, alias1, alias2...]; `addresses` are A/AAAA
    records of the last alias; `extra` = [(owner, address)] records off the chain."""
    ipl = query_pkt[IP] if IP in query_pkt else query_pkt[IPv6]
    udp = query_pkt[UDP]
    dns = query_pkt[DNS]
    records = []
    for owner, target in zip(chain, chain[1:]):
        records.append(DNSRR(rrname=owner, type="CNAME", ttl=ttl if cname_ttl is None else cname_ttl,
                             rdata=target))
    for address in addresses:
        rtype = "AAAA" if ":" in address else "A"
        records.append(DNSRR(rrname=chain[-1], type=rtype, ttl=ttl, rdata=address))
    for owner, address in extra:
        records.append(DNSRR(rrname=owner, type="AAAA" if ":" in address else "A", ttl=ttl,
                             rdata=address))
    an = records[0]
    for record in records[1:]:
        an = an / record
    answer = DNS(id=dns.id, qr=1, rd=1, ra=1, qd=dns.qd, an=an)
    return udp_packet(ipl.dst, 53, ipl.src, udp.sport, answer, src_mac=UPSTREAM_MAC,
                      dst_mac=query_pkt[Ether].src, ip_id=0x3000 + (udp.sport & 0xFFF))


def write_pcap(path, packets, base_time=BASE_TIME):
    """Writes `packets` (little-endian pcap, microseconds, Ethernet) with fixed timestamps
    1 ms apart; the same packets always give the same file."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, pkt in enumerate(packets):
        raw = bytes(pkt)
        usec = i * TIME_STEP_US
        out.append(struct.pack("<IIII", base_time + usec // 1_000_000, usec % 1_000_000,
                               len(raw), len(raw)))
        out.append(raw)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def read_pcap_frames(path):
    """Raw frames of a pcap file (written by the pcap PMD) as a list of bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    frames = []
    offset = 24
    while offset + 16 <= len(data):
        _, _, incl_len, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        frames.append(data[offset:offset + incl_len])
        offset += incl_len
    return frames
