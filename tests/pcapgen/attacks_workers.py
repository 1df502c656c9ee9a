"""Attacks on what two workers share: a DNS answer learned on one worker and a flow on the other.

With several workers (docs/ARCHITECTURE.md, "Several workers") a flow belongs to the worker its
address pair hashes to (dataplane/flow/flow_owner.cc). A client's DNS answer (client ↔ resolver)
and its connection to the answered address (client ↔ server) are two pairs: the answer may be
learned on worker 1 and the connection judged on worker 0, which finds it on the shared board
of recent answers (dataplane/policy/recent_answers.h) or in the published table. The attacker
must not get more from that than from one worker: a flow to an address whose answer was for a
name the policy denies, or was given to a client of another policy, is still a mismatch.

Every address is chosen with the owner hash below (a copy of flow_owner.cc's) so that each
answer's pair is worker 1's and each connection's pair worker 0's, with two workers.

Order, by construction rather than timing: the inside capture starts with the queries, then
FILLERS frames of the query's own pair (worker 1's), then the connections. The pcap ports have
one queue, so worker 0 reads both ports and hands worker 1 its frames through a 1024-frame ring,
in order; the answers (outside capture, read in worker 0's first loop iteration) enter that ring
before all but the first burst of fillers. Worker 0 stops reading while the ring has no room for
a burst (worker_loop.cc), so it reaches the connections only once worker 1 has taken all but
1024 of the fillers, and with them, processed the answers. With one worker the answers are
judged in its first iteration, long before the connections.

Policy: tests/golden/policies/cross_worker.textproto ("prod" 198.18.1.0/24, "build"
198.18.2.0/24, both allowing pypi.org through the resolver 198.19.255.53).
"""

import ipaddress
import struct

from pcapgen import frames
from pcapgen.attacks import Attack, Control, marker
from pcapgen.tls import client_hello

RESOLVER = "198.19.255.53"
FILLERS = 1536  # > the 1024-frame handoff ring (controlplane/daemon/worker_set.cc) + a few bursts
MASK64 = (1 << 64) - 1


def _mix(value):
    """splitmix64's finalizer, as flow_owner.cc's mix()."""
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & MASK64
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def owner(a, b, workers=2):
    """The worker owning the IPv4 pair (a, b): flow_owner_hash's hash_pair, then the scaling."""
    first, second = sorted([ipaddress.IPv4Address(a).packed, ipaddress.IPv4Address(b).packed])
    hashed = 4
    for address in (first, second):
        hashed = _mix(hashed ^ struct.unpack("<Q", address + b"\x00" * 4)[0])
    return ((hashed >> 32) * workers) >> 32


def _first(candidates, test):
    return next(c for c in candidates if test(c))


# Clients whose pair with the resolver is worker 1's, servers whose pairs with them are worker 0's.
CLIENT = _first((f"198.18.1.{h}" for h in range(10, 250)), lambda c: owner(c, RESOLVER) == 1)
OTHER_CLIENT = _first((f"198.18.2.{h}" for h in range(10, 250)), lambda c: owner(c, RESOLVER) == 1)
_SERVERS = (f"198.19.77.{h}" for h in range(1, 250))
PYPI_ADDRESS = _first(_SERVERS, lambda s: owner(CLIENT, s) == 0 and owner(OTHER_CLIENT, s) == 0)
DENIED_ADDRESS = _first(_SERVERS, lambda s: owner(CLIENT, s) == 0)
OTHER_PYPI_ADDRESS = _first(_SERVERS, lambda s: owner(OTHER_CLIENT, s) == 0)


def _hello_flow(client, sport, server, name, m=b""):
    """A TLS connection naming `name`; an attack's marker rides in the hello and the data after."""
    flow = frames.TcpFlow(client, sport, server, 443)
    hello = client_hello(name, alpn=("h2", m.decode())) if m else client_hello(name)
    packets = [flow.syn(), flow.ack(), flow.data(hello)]
    return packets + ([flow.data(m * 4)] if m else [])


def scenario():
    """(inside packets, outside packets, attacks, controls)."""
    queries = [
        frames.dns_query(CLIENT, 46001, RESOLVER, "pypi.org", query_id=0x4601),
        frames.dns_query(CLIENT, 46002, RESOLVER, "exfil.example", query_id=0x4602),
        frames.dns_query(OTHER_CLIENT, 46003, RESOLVER, "pypi.org", query_id=0x4603),
    ]
    answers = [frames.dns_answer(queries[0], PYPI_ADDRESS), frames.dns_answer(queries[1], DENIED_ADDRESS),
               frames.dns_answer(queries[2], OTHER_PYPI_ADDRESS)]
    # Worker 1's: the client and the resolver, a port no policy allows (denied and dropped).
    fillers = [frames.udp_packet(CLIENT, 46100, RESOLVER, 9999, b"filler %d" % i, ip_id=i + 1)
               for i in range(FILLERS)]
    controls = [
        Control("cross_worker_learned_answer", _hello_flow(CLIENT, 46011, PYPI_ADDRESS, "pypi.org"),
                "pypi.org answered on worker 1, its connection judged on worker 0: allowed"),
        Control("cross_worker_other_source_resolved_itself",
                _hello_flow(OTHER_CLIENT, 46012, OTHER_PYPI_ADDRESS, "pypi.org"),
                "the other policy's client, to the address its own answer gave: allowed"),
    ]
    names = ("cross_worker_answer_for_denied_name", "cross_worker_answer_for_other_source")
    attacks = [
        Attack(names[0], _hello_flow(CLIENT, 46021, DENIED_ADDRESS, "pypi.org", marker(names[0])),
               "name_address_mismatch", marker(names[0]),
               "the address came in an answer for exfil.example (denied), then a hello naming pypi.org"),
        Attack(names[1], _hello_flow(OTHER_CLIENT, 46022, PYPI_ADDRESS, "pypi.org", marker(names[1])),
               "name_address_mismatch", marker(names[1]),
               "pypi.org's address as answered to a client of the other policy"),
    ]
    inside = queries + fillers + [p for case in controls + attacks for p in case.packets]
    return inside, answers, attacks, controls
