"""Flows with the outcome the policy contract gives them.

A Case holds the packets one flow sends into the appliance's inside port and what must come
out: the packets forwarded to the outside port, the RSTs sent back out of the inside port,
the denial record and the flow-log line. The expectations are written from the contract
(docs/POLICY.md, "The contract"), never taken from the program's output.
"""

import ipaddress
from dataclasses import dataclass, field

from scapy.layers.inet import IP, UDP  # noqa
from scapy.layers.inet6 import IPv6

from . import frames

# An expected field the contract does not fix (e.g. `destination` of a TLS flow denied before a
# single valid name was read): checked to be a non-empty string, not compared.
ALLOW = "ALLOW"
DROP = "DROP"
DRY_RUN_DENIAL = "DRY_RUN_DENIAL"
PENDING = "PENDING"


@dataclass(frozen=True)
class Source:
    """Who judges a client: its policy, source label and effective enforcement."""
    policy: str
    label: str
    enforce: bool  # False: DRY_RUN


@dataclass
class Case:
    name: str
    packets: list                  # what the client sends into the inside port, in order
    forwarded: list                # which of them leave the outside port, in order
    resets: list                   # replies the appliance sends out of the inside port (RSTs, ICMP errors)
    record: dict = None            # the denial record without event_time/flow_id, or None
    flow: dict = None              # flow-log fields the contract fixes, without flow_id
    key: tuple = None              # frames.flow_key of the flow; None when no flow is made
    note: str = ""                 # one line for READMEs: what the flow is and why
    extra: dict = field(default_factory=dict)

    @property
    def makes_flow(self):
        return self.key is not None


def _ip_str(address):
    return str(ipaddress.ip_address(address))


def _judgement(src, reason, dtype, destination, source, sport, dst,
               dport, protocol):
    """(verdict, record, flow) for a flow judged `reason` from `source`."""
    allowed = reason.startswith("allowed_")
    if allowed:
        verdict = ALLOW
    else:
        verdict = DROP if source.enforce else DRY_RUN_DENIAL
    common = {
        "src_ip": _ip_str(src), "src_port": sport, "dst_ip": _ip_str(dst), "dst_port": dport,
        "protocol": protocol, "policy": source.policy, "source_label": source.label,
        "reason": reason,
    }
    flow = dict(common, verdict=verdict)
    if dtype is not None:
        flow.update(destination_type=dtype, destination=destination)
    record = None
    if not allowed:
        # count 1: the golden runs turn aggregation off, one record a denied flow.
        record = dict(common, access_type=verdict, destination_type=dtype,
                      destination=destination, count=1)
    return verdict, record, flow


def tcp_payload_case(name, source, client, sport, server, dport, payloads, reason, dtype,
                     destination, *, vlan=None, note=""):
    """A TCP flow to a TLS or HTTP port: SYN, ACK, the payload segments, FIN.

    The handshake passes; the segment that completes the ClientHello or request head (the
    last of `payloads`) decides, and the segments before it pass (they hold message bytes
    only). Denied in ENFORCE: the deciding segment is dropped and answered with a RST,
    everything after it is dropped silently. No server answers here, so no reset goes on to it.
    """
    flow = frames.TcpFlow(client, sport, server, dport, vlan=vlan)
    syn, ack = flow.syn(), flow.ack()
    data = [flow.data(p) for p in payloads]
    fin = flow.fin()
    packets = [syn, ack] + data + [fin]
    verdict, record, flow_fields = _judgement(client, reason, dtype, destination, source,
                                              sport, server, dport, "TCP")
    if verdict == DROP:
        forwarded, resets = [syn, ack] + data[:-1], [frames.expected_reset(data[-1])]
    else:
        forwarded, resets = packets, []
    return Case(name, packets, forwarded, resets, record, flow_fields, flow.key(), note)


def tcp_syn_case(name, source, client, sport, server, dport, reason, dtype="IP",
                 destination=None, *, payload=b"", vlan=None, note=""):
    """A TCP flow judged on its SYN (destination IP, protocol, port).

    Allowed or dry-run: SYN, ACK, one data segment, FIN all pass. Denied in ENFORCE: the SYN
    is dropped and answered with a RST; so is the client's retransmitted SYN (its first RST may
    have been lost), within the appliance's reply rate.
    """
    destination = destination if destination is not None else _ip_str(server)
    flow = frames.TcpFlow(client, sport, server, dport, vlan=vlan)
    verdict, record, flow_fields = _judgement(client, reason, dtype, destination, source,
                                              sport, server, dport, "TCP")
    if verdict == DROP:
        first = flow.syn()
        retransmit = flow.syn()
        return Case(name, [first, retransmit], [],
                    [frames.expected_reset(first), frames.expected_reset(retransmit)], record,
                    flow_fields, flow.key(), note)
    packets = [flow.syn(), flow.ack()]
    if payload:
        packets.append(flow.data(payload))
    packets.append(flow.fin())
    return Case(name, packets, packets, [], record, flow_fields, flow.key(), note)


def udp_case(name, source, packets, reason, dtype, destination=None, *, note=""):
    """A UDP flow (all `packets` share one 5-tuple), judged on its first packet.

    Denied in ENFORCE: every packet is dropped and answered with an ICMP administratively-
    prohibited error, so that the client fails at once instead of timing out."""
    first = packets[0]
    ipl = first[IP] if IP in first else first[IPv6]
    udp = first[UDP]
    destination = destination if destination is not None else _ip_str(ipl.dst)
    verdict, record, flow_fields = _judgement(ipl.src, reason, dtype, destination, source,
                                              udp.sport, ipl.dst, udp.dport, "UDP")
    forwarded = [] if verdict == DROP else list(packets)
    replies = [frames.expected_icmp_unreachable(p) for p in packets] if verdict == DROP else []
    return Case(name, list(packets), forwarded, replies, record, flow_fields,
                frames.flow_key(first), note)


def dns_case(name, source, client, sport, resolver, qname, reason, *, note=""):
    query = frames.dns_query(client, sport, resolver, qname, query_id=sport & 0xFFFF)
    return udp_case(name, source, [query], reason, "DNS", _ip_str(resolver), note=note)


def number_flows(cases):
    """Flow ids as the contract gives them: 1, 2, 3... in the order the worker first sees a
    flow. Cases are sent one after another, so that is the order of the cases that make one."""
    ids = {}
    for case in cases:
        if case.makes_flow and case.key not in ids:
            ids[case.key] = len(ids) + 1
    return ids
