// Every verdict and every drop carries one named reason. The same names appear in records,
// metrics (label `reason`) and docs/REASONS.md. Add new reasons at the end of a group.
#pragma once

#include <cstdint>

namespace sluice {

#define SLUICE_REASONS(X)                                                                      \
  /* allowed */                                                                                \
  X(allowed_full_access, "the policy's access mode is FULL")                                   \
  X(allowed_domain, "the SNI or Host matches an allowed domain")                               \
  X(allowed_network, "the destination is in an allowed network, protocol and port")            \
  X(allowed_dns_resolver, "DNS to a resolver the policy allows")                               \
  X(allowed_dns_learned, "the destination address was learned from a DNS answer for an allowed domain whose rule allows the port") \
  X(allowed_unbound_name, "the SNI or Host is allowed but its destination address was not learned from DNS; passed by the policy's allow_unbound_names (anycast CDNs)") \
  X(allowed_storage_path_style, "a TLS or QUIC flow to a storage provider's shared path-style endpoint (s3.REGION.amazonaws.com, storage.googleapis.com), passed by its allowed_storage entry's allow_path_style_endpoints: every bucket behind that endpoint is reachable") \
  /* denied by policy */                                                                       \
  X(domain_not_allowed, "the SNI or Host matches no allowed domain")                           \
  X(ip_not_allowed, "the destination is in no allowed network for this protocol and port")     \
  X(dns_resolver_not_allowed, "DNS to a resolver the policy does not list")                    \
  X(tls_no_sni, "a ClientHello without a server name")                                         \
  X(tls_multiple_sni, "a ClientHello with more than one host_name entry")                      \
  X(tls_invalid_sni, "a server name with bytes outside host name syntax")                      \
  X(tls_ech, "a ClientHello with an Encrypted Client Hello extension")                         \
  X(tls_not_client_hello, "the first bytes on a TLS port are not a TLS ClientHello")           \
  X(tls_malformed, "a ClientHello whose lengths contradict each other")                        \
  X(tls_client_hello_too_large, "a ClientHello longer than the reassembly bound (tls_max_client_hello_bytes)") \
  X(http_not_request, "bytes on an HTTP port where a request must start (the first, or after a body) are not an HTTP/1.x request")           \
  X(http_malformed, "an HTTP request head that breaks the syntax")                             \
  X(http_missing_host, "an HTTP request without a Host")                                       \
  X(http_duplicate_host, "an HTTP request with more than one Host header")                     \
  X(http_host_mismatch, "the absolute-form target's host differs from the Host header")        \
  X(http_invalid_host, "a Host with bytes outside host name syntax")                           \
  X(http_head_too_large, "an HTTP request head longer than the bound (http_max_head_bytes)")   \
  X(tcp_overlap_conflict, "overlapping TCP segments of a ClientHello or request head whose bytes disagree, before the verdict or after it (a retransmission rewriting a judged message the server has not acknowledged)") \
  X(tcp_segments_scattered, "a ClientHello or request head in more separate pieces than reassembly tracks") \
  X(reassembly_capacity_exhausted, "a ClientHello or request head (the first or a later one) needing a reassembly buffer while every reassembly buffer of the worker is in use (fail closed)") \
  X(rejudge_name_unknown, "allowed before a policy reload without its name read; the new policy judges on a name") \
  X(quic_not_initial, "on a QUIC port, a client datagram that is not a QUIC Initial: the flow's first, or one while its ClientHello is incomplete") \
  X(quic_unknown_version, "a QUIC long header of a version other than v1 (RFC 9000) or v2 (RFC 9369): its Initial cannot be read") \
  X(quic_undecryptable, "a QUIC Initial whose protection does not come off with the keys of its connection ID") \
  X(quic_malformed, "a QUIC Initial datagram that breaks RFC 9000: truncated, bad frames, reserved bits, a short or changed connection ID") \
  X(quic_initial_too_small, "a client datagram carrying a QUIC Initial under 1200 bytes (RFC 9000 14.1)") \
  X(quic_crypto_conflict, "QUIC CRYPTO data at an offset already received whose bytes disagree") \
  X(quic_crypto_too_large, "a ClientHello in QUIC Initials longer than the bound (tls_max_client_hello_bytes)") \
  X(quic_capacity_exhausted, "a new QUIC flow while every QUIC CRYPTO buffer of the worker is in use (fail closed)") \
  X(http_connect_not_allowed, "a CONNECT (proxy request) on an HTTP port to an address:port that is not one of the policy's allowed_proxies") \
  X(name_address_mismatch, "the SNI, Host or QUIC SNI is allowed, but no DNS answer the appliance saw (within TTL + grace) gave the destination address for a name the policy allows on this port") \
  X(dns_name_not_allowed, "a DNS query to an allowed resolver for a name no allowed domain, resolvable name or reverse-lookup rule of the policy covers") \
  X(dns_query_malformed, "a message to an allowed resolver that is not one DNS query a stub resolver sends: truncated, a response or other opcode, compression or records a query does not carry, trailing bytes, an IP fragment") \
  X(dns_query_not_one_question, "a DNS query whose question count (QDCOUNT) is not 1") \
  X(dns_query_invalid_name, "a DNS query for the root or a name with bytes outside host name syntax") \
  X(dns_tcp_message_split, "a DNS-over-TCP segment that does not hold whole length-prefixed messages") \
  X(http_host_changed, "a later request on an allowed HTTP connection (keep-alive, pipelined) names another host than the one the connection was allowed for") \
  X(http_framing_ambiguous, "an HTTP request whose body length a server could read two ways: Content-Length and Transfer-Encoding, either twice, or a Content-Length that is not a plain number") \
  X(http_transfer_encoding_unsupported, "an HTTP request with a Transfer-Encoding other than exactly chunked: where its body ends cannot be followed") \
  X(http_chunk_malformed, "a chunked HTTP body whose chunk-size line, chunk end or trailer breaks RFC 9112 7.1") \
  X(http_upgrade_not_followed, "bytes after an HTTP request that asked to switch protocols (Upgrade): what follows cannot be read") \
  X(tls_second_hello_mismatch, "a later ClientHello on an allowed TLS connection (or the first in an allowed CONNECT tunnel) that names another server, none, or cannot be read") \
  X(tls_not_record, "bytes after the ClientHello on a TLS connection that are not a TLS record (content type, version or length no TLS endpoint sends)") \
  X(pending_deadline, "a TLS, HTTP or QUIC flow still without its verdict when its deadline (tcp_handshake_seconds from its first packet; traffic does not extend it) passed") \
  X(fragment_overlap_conflict, "overlapping IP fragments of a datagram carrying a ClientHello or request head whose bytes disagree") \
  X(fragment_malformed, "an IP fragment of a datagram carrying a ClientHello or request head that contradicts it: a non-final fragment not a multiple of 8 bytes, bytes past its end, a second end, an empty fragment, more than 16 fragments, or a datagram past the reassembly bound") \
  X(quic_held_datagrams_full, "a QUIC Initial that leaves its flow's ClientHello incomplete while the flow already holds 16 datagrams (or twice tls_max_client_hello_bytes of frames, or the worker already holds its 2048 pieces): held datagrams leave only at the verdict, so the flow is denied (fail closed)") \
  X(storage_path_style_not_allowed, "a TLS or QUIC flow to a storage provider's shared path-style endpoint (s3.REGION.amazonaws.com, storage.googleapis.com), whose bucket travels inside TLS; the policy lists a bucket there but does not set allow_path_style_endpoints") \
  X(storage_bucket_not_allowed, "a plain-HTTP request to a storage provider's shared path-style endpoint whose path names no bucket the policy lists (or names it unreadably: no bucket, a dot segment, a percent-escape)") \
  X(denied_by_rule, "a numbered DENY rule of the policy matches the destination (name or address), protocol and port before any rule that allows it; the record's `rule` names it") \
  X(dns_name_denied_by_rule, "a DNS query for a name a numbered DENY rule of the policy denies on every port and protocol before any rule that allows it") \
  /* dropped by the appliance itself */                                                        \
  X(unsolicited_inbound, "a packet from outside that belongs to no flow an inside host opened")\
  X(flow_table_full, "a new flow while the worker's flow table is full (fail closed)")         \
  X(malformed_packet, "a frame the packet parser refused")                                     \
  X(unsupported_ethertype, "neither IPv4, IPv6 nor ARP")                                       \
  X(fragment_without_first, "a non-first IP fragment whose first fragment this worker has not seen (or has forgotten)") \
  X(fragment_of_undecided_flow, "a non-first IP fragment of a TLS/HTTP flow still waiting for its verdict") \
  X(flow_denied, "a later packet of a flow already denied in ENFORCE")                         \
  X(tx_failed, "the output port's queue was full")                                            \
  X(ipv4_source_route, "an IPv4 packet with a loose or strict source route option (LSRR 131, SSRR 137; RFC 7126)") \
  X(ipv6_routing_header_type0, "an IPv6 packet with a type-0 routing header (deprecated by RFC 5095)") \
  X(arp_malformed, "an ARP frame that is not Ethernet/IPv4 ARP request or reply, or carries non-zero bytes or more than minimum-frame padding after its body") \
  X(neighbour_discovery_malformed, "ND or MLD to a link-local or link-scope multicast destination with a wrong hop limit, code or body (RFC 4861, RFC 2710, RFC 3810)") \
  X(dns_answer_from_inside, "a DNS answer on a resolver flow arriving from the inside port (forged by a workload)") \
  X(tcp_checksum_bad, "a payload segment of a flow still waiting for its verdict, or of a followed TLS/HTTP connection, whose TCP checksum is wrong (the server would discard it, so it is not judged)") \
  X(ttl_too_low, "a payload segment of a flow still waiting for its verdict, or of a followed TLS/HTTP connection, whose TTL or hop limit (at most 1) cannot reach the server") \
  X(tcp_stream_gap, "a client segment of a followed TLS/HTTP connection that starts beyond the next byte expected: the framing in between is unknown, so it waits for the client to send it in order") \
  X(tcp_option_not_allowed, "a TCP packet of a flow still waiting for its verdict with an option other than EOL, NOP, MSS, window scale, SACK-permitted, SACK and timestamps (TCP Fast Open cookies, experimental kinds…)") \
  X(ip_options_before_verdict, "a client packet of a flow still waiting for its verdict with IPv4 options or an IPv6 extension header other than a fragment header (hop-by-hop, destination options, routing, authentication): bytes nothing judges would reach a destination not judged yet") \
  X(tcp_option_malformed, "a TCP packet of a flow still waiting for its verdict whose options have a wrong length or non-zero bytes after EOL") \
  X(tcp_syn_payload, "a SYN carrying data (TCP Fast Open) on a TLS/HTTP port: nothing but the judged message leaves before the verdict") \
  X(tcp_segment_outside_message, "a payload segment of a flow still waiting for its verdict with no byte of the message not already held (before the message, or a repeat)") \
  X(held_segments_full, "a piece of a message under reassembly that no hold can take: held pieces leave only at the verdict, so a message in more pieces than its flow's hold takes (16) denies the flow at once (with its record), a later message of a followed connection too; a piece meeting the worker's full hold is dropped unread (the client sends it again)") \
  X(held_segment_discarded, "a held piece of a message whose flow ended (reset, reused or aged out) before its verdict, or a held QUIC Initial of a connection attempt a server's Retry or Version Negotiation ended") \
  X(fragment_capacity_exhausted, "a first IP fragment of a flow still waiting for its verdict while every fragment reassembly slot of the worker is in use (fail closed)") \
  X(fragment_reassembly_expired, "a held IP fragment of a datagram that did not complete within fragment_lifetime_seconds") \
  X(ipv4_header_checksum_bad, "an IPv4 packet whose header checksum is wrong: the next router or host discards it, so its bytes are neither judged nor forwarded (ENFORCE and DRY_RUN)") \
  X(frame_not_for_appliance, "routed mode: a unicast frame addressed to another MAC than the receiving port's (flooded onto the segment)") \
  X(routed_non_ip, "routed mode: a frame that is neither IPv4, IPv6 nor ARP, or carries a VLAN tag") \
  X(routed_multicast, "routed mode: an IP packet to a broadcast or multicast MAC other than neighbour discovery: not routed") \
  X(neighbour_protocol_unhandled, "routed mode: ARP or IPv6 neighbour discovery that no neighbour handler took") \
  X(local_not_allowed, "routed mode: a packet for one of the appliance's own addresses that no local service takes") \
  X(ttl_expired, "routed mode: a packet whose TTL or hop limit runs out at the appliance (at most 1 on arrival); answered with ICMP time exceeded within a rate") \
  X(no_route, "routed mode: a packet to a destination no route and no connected prefix covers") \
  X(packet_too_big, "routed mode: a packet larger than the outgoing port's MTU; answered with ICMP fragmentation needed or packet too big within a rate (the appliance does not fragment, DF set or not)") \
  X(neighbour_unresolved, "routed mode: a packet whose next hop's MAC is not known yet; the control thread is asked to resolve it") \
  X(control_frame_bad_port, "routed mode: a frame the control thread handed the worker for a port that does not exist") \
  X(health_probe_not_ready, "routed mode: a segment to routing.health_probe.tcp_port on one of the appliance's addresses while it is not ready (no policy, a worker stalled, or drained with sluicectl drain): unanswered, so the load balancer's probe fails and traffic moves to another appliance") \
  X(health_probe_segment, "routed mode: a segment of a health probe's connection after its SYN (the handshake's ACK, the prober's reset, or data and FIN, which are answered with a reset): no socket holds the connection, the worker consumes it") \
  X(source_not_routed_back, "routed mode: a packet whose source address the routes would not send back out of the port it arrived on (a spoofed source, e.g. a workload claiming an outside address so that an answer of the appliance or its kernel carries its bytes there): reverse-path check, dropped before anything is answered or routed") \
  X(exception_source_not_own, "routed mode: a frame from the exception port (the host kernel's tap) that is not an IPv4/IPv6 packet from one of the appliance's own addresses: only the kernel's answers from those addresses are routed out") \
  X(snat_ports_exhausted, "routed mode: a new flow routed through source NAT while no (address, port) of the worker's slice is free toward its destination (every port in use or in quarantine), or every translation slot of the worker is taken (fail closed, whatever the enforcement: the flow is denied at its verdict, its client reset or told unreachable, and it gets a DROP record with the workload's source)") \
  X(snat_no_binding, "routed mode: a packet from outside to a SNAT address that answers no active translation: another server, server port or protocol than the translated flow's, a flow ended (quarantined), or an ICMP error quoting such a tuple") \
  X(snat_untranslatable, "routed mode: a packet to translate that cannot be: a non-first IP fragment, a protocol other than TCP, UDP, ICMP echo and ICMP errors, a header cut short, or an ICMP error whose checksum is wrong, whose quote cannot be read, or that quotes a flow other than its sender's") \
  X(neighbour_message_consumed, "routed mode: an ARP reply or neighbour advertisement the appliance learned a neighbour from; such frames end at the appliance") \
  X(neighbour_not_for_appliance, "routed mode: ARP or neighbour discovery about an address that is not the receiving port's own, or router discovery (the appliance sends no router advertisements); such frames end at the appliance") \
  X(neighbour_message_refused, "routed mode: ARP or neighbour discovery that fails its checks (ARP sender MAC not the frame's source, unusable sender, ND checksum, hop limit, target, options, DAD rules), claims one of the appliance's own addresses, or carries a VLAN tag: never answered or learned") \
  X(icmp_error_quote_malformed, "an ICMP or ICMPv6 error from outside (destination unreachable, time exceeded, parameter problem, packet too big) whose quoted packet cannot be read: cut short, another IP version, a later fragment, a quoted ICMP message other than an echo, or the error itself an IP fragment") \
  X(icmp_error_no_flow, "an ICMP or ICMPv6 error from outside whose quoted packet is not one an inside host sent on a live flow: no flow has its tuple, the flow is idle past its timeout, the quote runs from the responder to the initiator, or the error is not addressed to the quoted packet's sender") \
  X(icmp_error_flow_denied, "an ICMP or ICMPv6 error from outside about a flow denied in ENFORCE") \
  X(handoff_ring_full, "several workers: a frame whose flow another worker owns while the ring to that worker is full (the owner is behind)") \
  X(tx_ring_full, "several workers: a frame to send out of a port with fewer transmit queues than workers (in routed mode also the exception port, worker 0's) while that port's transmit ring is full") \
  /* not a verdict */                                                                         \
  X(no_payload_seen, "flow log only: a TLS/HTTP flow whose client never sent its first payload")

enum class Reason : uint8_t {
#define SLUICE_REASON_ENUM(name, text) name,
  SLUICE_REASONS(SLUICE_REASON_ENUM)
#undef SLUICE_REASON_ENUM
      count
};

inline constexpr int kReasonCount = static_cast<int>(Reason::count);

const char* to_string(Reason reason);
const char* describe(Reason reason);

}  // namespace sluice
