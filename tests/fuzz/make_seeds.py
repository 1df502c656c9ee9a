#!/usr/bin/python3
"""Writes seed inputs for the fuzz targets into tests/fuzz/corpus/<target>/.

    /usr/bin/python3 tests/fuzz/make_seeds.py

The seeds are the traffic our tests already describe: the frames of configs/demo/demo.pcap and
more frames built with tests/pcapgen (IPv6, VLAN, fragments, DNS answers, ClientHellos cut into
several records, unusual HTTP heads, the attacker corpus of tests/pcapgen/attacks.py). From every frame it takes what each parser sees:

    packet_parser            the whole frame
    tls_client_hello_parser  TCP payloads to port 443
    http_request_parser      TCP payloads to port 80
    dns_message_parser       UDP payloads from or to port 53
    dns_query_parser         the queries among them (client to port 53)
    hostname                 the names those flows carry, plus edge cases
    health_probe_reply       the frames with a TCP SYN or ICMP
    domain_matcher           pattern lists and names (fuzz_domain_matcher.cc's layout), and a
                             damaged suffix-table header

Files are named by the SHA-1 of their content, as libFuzzer names what it finds, so running this
again adds nothing twice and never touches the regression inputs next to the seeds.
"""

import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests"))

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT, dns_compress  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop  # noqa: E402
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.packet import Padding  # noqa: E402

from pcapgen import attacks, frames, tls  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
DEMO_PCAP = os.path.join(SOURCE_ROOT, "configs", "demo", "demo.pcap")

CLIENT, CLIENT_V6 = "198.18.1.21", "2001:db8:1::21"
SERVER, SERVER_V6 = "198.19.10.1", "2001:db8:10::1"
RESOLVER = "198.19.255.53"


def tls_records(hello_record, cuts):
    """The handshake message of `hello_record` (one record) cut into several records at `cuts`."""
    message = hello_record[tls.RECORD_HEADER_LENGTH:]
    pieces, start = [], 0
    for end in list(cuts) + [len(message)]:
        pieces.append(message[start:end])
        start = end
    return b"".join(b"\x16\x03\x01" + len(p).to_bytes(2, "big") + p for p in pieces)


def tls_payloads():
    big = tls.client_hello("big.example", pad_to=2000)
    return [
        tls.client_hello("pypi.org"),
        tls.client_hello("Files.PythonHosted.org.", alpn=("http/1.1",), versions=(0x0303,)),
        tls.client_hello("public.example", ech=True),
        tls.client_hello(sni_names=["first.example", "second.example"]),
        tls.client_hello(None, alpn=None, versions=None, key_share=False),
        tls.client_hello("xn--bcher-kva.example", pad_to=517),
        big,
        tls_records(big, [1000]),           # two records
        tls_records(big, [2, 700, 1500]),   # handshake header cut, then three more
        tls_records(tls.client_hello("tiny.example"), range(16, 200, 16)),  # many small records
        big[:1460],                         # the first segment of a hello that spans two
        tls_records(big, [1000]) + b"\x14\x03\x03\x00\x01\x01",  # followed by ChangeCipherSpec
    ]


def http_payloads():
    return [
        frames.http_get("github.com"),
        frames.http_get("downloads.example.net:8080", "/file?x=1"),
        frames.http_get(None),
        frames.http_get("[2001:db8::1]:80"),
        frames.http_get("a.example", extra_headers=("host: b.example",)),
        b"GET http://pypi.org/simple/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n",
        b"GET http://pypi.org:8080/ HTTP/1.0\r\n\r\n",
        b"CONNECT files.pythonhosted.org:443 HTTP/1.1\r\nHost: files.pythonhosted.org:443\r\n\r\n",
        b"POST /upload HTTP/1.1\r\nHost: api.github.com\r\nContent-Length: 5\r\n\r\nhello",
        b"OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Long: " + b"a" * 300 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\n",   # head not finished yet
    ]


def dns_answer(qname, records, *, qtype="A", rcode=0, additional=None, compress=True):
    message = DNS(id=0x5353, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=qname, qtype=qtype),
                  an=records, ar=additional)
    return bytes(dns_compress(message)) if compress else bytes(message)


def dns_payloads():
    chain = (DNSRR(rrname="www.example.com", type="CNAME", ttl=300, rdata="edge.cdn.example")
             / DNSRR(rrname="edge.cdn.example", type="CNAME", ttl=60, rdata="host.cdn.example")
             / DNSRR(rrname="host.cdn.example", type="A", ttl=20, rdata="198.19.9.9")
             / DNSRR(rrname="host.cdn.example", type="A", ttl=20, rdata="198.19.9.10"))
    out_of_order = (DNSRR(rrname="host.cdn.example", type="A", ttl=20, rdata="198.19.9.9")
                    / DNSRR(rrname="edge.cdn.example", type="CNAME", ttl=60, rdata="host.cdn.example")
                    / DNSRR(rrname="www.example.com", type="CNAME", ttl=300, rdata="edge.cdn.example"))
    return [
        dns_answer("pypi.org", DNSRR(rrname="pypi.org", type="A", ttl=300, rdata="198.19.10.1")),
        dns_answer("v6.example", DNSRR(rrname="v6.example", type="AAAA", ttl=30, rdata="2001:db8::42"),
                   qtype="AAAA"),
        dns_answer("www.example.com", chain),
        dns_answer("www.example.com", chain, compress=False),
        dns_answer("www.example.com", out_of_order),
        dns_answer("Mixed.Example", DNSRR(rrname="mixed.example", type="A", rdata="198.19.1.1")
                   / DNSRR(rrname="other.example", type="A", rdata="198.19.6.6")),  # not on the chain
        dns_answer("gone.example", None, rcode=3),
        dns_answer("edns.example", DNSRR(rrname="edns.example", type="A", rdata="198.19.2.2"),
                   additional=DNSRROPT(rclass=1232)),
    ]


def eth():
    """A client's Ethernet header (explicit MACs: scapy would otherwise look for a route)."""
    return Ether(src=frames.host_mac(CLIENT), dst=frames.GATEWAY_MAC)


def extra_frames():
    """Frames the demo does not have, so the packet parser's seeds reach every branch."""
    demo_query = frames.dns_query(CLIENT, 40001, RESOLVER, "pypi.org")
    flow_v6 = frames.TcpFlow(CLIENT_V6, 40002, SERVER_V6, 443)
    flow_vlan = frames.TcpFlow(CLIENT, 40003, SERVER, 443, vlan=42)
    built = [
        frames.dns_answer(demo_query, "198.19.10.1"),
        flow_v6.syn(),
        flow_v6.data(tls.client_hello("v6.example")),
        flow_vlan.syn(),
        flow_vlan.data(tls_records(tls.client_hello("vlan.example", pad_to=1200), [600])),
        frames.arp_request(CLIENT, "198.18.1.1"),
        *frames.ipv4_fragments(CLIENT, 40004, SERVER, 9999, b"x" * 64, 16),
        frames.finish(eth() / Dot1AD(vlan=10) / Dot1Q(vlan=20) / IP(src=CLIENT, dst=SERVER)
                      / TCP(sport=40005, dport=80, flags="S")),
        frames.finish(eth() / IP(src=CLIENT, dst=SERVER) / ICMP(type=8) / b"ping"),
        frames.finish(eth() / IPv6(src=CLIENT_V6, dst=SERVER_V6) / IPv6ExtHdrHopByHop()
                      / UDP(sport=40006, dport=53) / DNS(rd=1, qd=DNSQR(qname="v6.example", qtype="AAAA"))),
        frames.finish(eth() / IPv6(src=CLIENT_V6, dst=SERVER_V6) / IPv6ExtHdrFragment(m=1, id=7)
                      / UDP(sport=40007, dport=9999) / (b"y" * 32)),
        frames.finish(eth() / IPv6(src=CLIENT_V6, dst=SERVER_V6) / IPv6ExtHdrFragment(offset=5, id=7)
                      / (b"z" * 16)),
        # Ethernet padding after the IP packet.
        bytes(frames.finish(eth() / IP(src=CLIENT, dst=SERVER) / TCP(sport=40008, dport=443, flags="S")))
        + b"\x00" * 6,
    ]
    # The attacker corpus and its controls: IPv4 options, IPv6 routing headers, ND/MLD, ARP
    # with and without trailers (tests/pcapgen/attacks.py).
    for case in attacks.attacks() + attacks.controls():
        built += case.packets
    for i, payload in enumerate(tls_payloads()):
        built.append(frames.TcpFlow(CLIENT, 41000 + i, SERVER, 443).data(payload))
    for i, payload in enumerate(http_payloads()):
        built.append(frames.TcpFlow(CLIENT, 42000 + i, SERVER, 80).data(payload))
    for i, payload in enumerate(dns_payloads()):
        built.append(frames.udp_packet(RESOLVER, 53, CLIENT, 43000 + i, payload))
    return [bytes(f) for f in built]


def payloads_by_port(frame_bytes):
    """(tcp dport, udp ports, payload) of one raw frame, or None when it has no TCP/UDP payload."""
    pkt = Ether(frame_bytes)
    for layer, kind in ((TCP, "tcp"), (UDP, "udp")):
        if layer in pkt:
            l4 = pkt[layer]
            payload = bytes(l4.payload)
            if Padding in l4:  # Ethernet padding after the IP packet is no payload
                payload = payload[:len(payload) - len(bytes(l4[Padding]))]
            ports = {l4.dport} if kind == "tcp" else {l4.sport, l4.dport}
            return (kind, ports, payload)
    return None


def is_health_probe_seed(frame_bytes):
    """SYNs and ICMP: what a health probe or a kernel service sees (health_probe_reply)."""
    pkt = Ether(frame_bytes)
    return (TCP in pkt and "S" in pkt[TCP].flags) or ICMP in pkt


HOSTNAME_EDGES = [
    b"example.com", b"Example.COM.", b"a", b"_dmarc.example.com", b"xn--bcher-kva.example",
    b"a..b", b".example.com", b"example.com..", b"", b".", b"exa mple.com", b"exam\x00ple.com",
    b"a" * 63 + b".example", b"a" * 64 + b".example",
    (b"a" * 63 + b".") * 3 + b"a" * 61,          # 253 bytes: the longest
    (b"a" * 63 + b".") * 3 + b"a" * 61 + b".",   # the same, fully qualified
    (b"a" * 63 + b".") * 3 + b"a" * 62,          # 254: one too many
    b"*.example.com", b"192.0.2.1", b"[2001:db8::1]",
]


def domain_matcher_seeds(names):
    """Pattern lists and names in fuzz_domain_matcher.cc's layout: a mode byte, patterns (a
    kind-and-id byte, then the base) up to an empty line, then names."""
    def pattern(kind, rule_id, base):
        return bytes([rule_id * 3 + kind]) + base

    patterns = [pattern(0, 0, b"pypi.org"), pattern(1, 1, b"example.com"), pattern(2, 2, b"github.com"),
                pattern(0, 3, b"Files.PythonHosted.org"), pattern(1, 1, b"b.example.com"),
                pattern(2, 4, b"bad..name"), pattern(0, 5, b"trailing.")]
    tricky = [b"example.com", b"x.example.com", b"GITHUB.COM", b"github.com\x02x.github.com",
              b"junk\x01pypi.org", b"junk\x02pypi.org", b"a..example.com", b".", b"x.bad..name", b"trailing."]
    seeds = [b"\x00" + b"\n".join(patterns) + b"\n\n" + b"\n".join(tricky)]
    seeds.append(b"\x00" + b"\n".join(patterns[:3]) + b"\n\n" + b"\n".join(sorted(names)[:30]))
    seeds.append(b"\x01sluice-name-suffix-table-1\x00" + bytes(40))
    return seeds


def write(target, data, counts):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        counts[target] = counts.get(target, 0) + 1


def main():
    all_frames = frames.read_pcap_frames(DEMO_PCAP) + extra_frames()
    counts = {}
    names = set()
    for frame in all_frames:
        write("packet_parser", frame, counts)
        if is_health_probe_seed(frame):
            write("health_probe_reply", frame, counts)
        found = payloads_by_port(frame)
        if found is None or not found[2]:
            continue
        kind, ports, payload = found
        if kind == "tcp" and 443 in ports:
            write("tls_client_hello_parser", payload, counts)
        elif kind == "tcp" and 80 in ports:
            write("http_request_parser", payload, counts)
            for line in payload.split(b"\r\n"):
                if line.lower().startswith(b"host:"):
                    names.add(line[5:].strip())
        elif kind == "udp" and 53 in ports:
            write("dns_message_parser", payload, counts)
            message = DNS(payload)
            if not message.qr:
                write("dns_query_parser", payload, counts)
            for question in [message.qd] if message.qd else []:
                names.add(question.qname)
    for payload in tls_payloads():
        # The SNI as the hostname target sees it: scapy does not parse our hand-made records.
        for name in (b"pypi.org", b"Files.PythonHosted.org.", b"public.example", b"big.example"):
            if name in payload:
                names.add(name)
    for name in sorted(names | set(HOSTNAME_EDGES)):
        write("hostname", name, counts)
    for seed in domain_matcher_seeds(names):
        write("domain_matcher", seed, counts)
    for target in sorted(os.listdir(CORPUS)):
        total = len(os.listdir(os.path.join(CORPUS, target)))
        print(f"{target}: {counts.get(target, 0)} new, {total} in the corpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
