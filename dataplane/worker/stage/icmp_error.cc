#include "dataplane/worker/stage/icmp_error.h"

#include "dataplane/flow/flow_key.h"
#include "dataplane/parse/icmp_error_quote.h"

namespace sluice {

namespace {
// The quote starts after the error's 8-byte header (type, code, checksum, unused / MTU / pointer).
constexpr size_t kIcmpErrorHeaderLength = 8;
}  // namespace

bool IcmpErrorAdmission::applies(Side ingress, const ParsedPacket& parsed) {
  if (ingress != Side::outside) return false;
  const bool icmp = (parsed.ip_version == 4 && parsed.l4_protocol == kIpProtoIcmp) ||
                    (parsed.ip_version == 6 && parsed.l4_protocol == kIpProtoIcmpv6);
  return icmp && is_icmp_error_type(parsed.ip_version, parsed.icmp_type);
}

Reason IcmpErrorAdmission::admit(const PacketContext& packet, uint64_t now_tsc) const {
  const ParsedPacket& parsed = packet.parsed;
  // A fragmented error's quote may run into fragments this packet does not hold; routers send
  // errors of at most 576 (IPv4) / 1280 (IPv6) bytes, never fragmented.
  if (parsed.is_fragment) return Reason::icmp_error_quote_malformed;
  IcmpQuote quote;
  if (parse_icmp_quote(packet.frame, size_t(parsed.l4_offset) + kIcmpErrorHeaderLength, parsed.l3_end,
                       parsed.ip_version, quote) != IcmpQuoteError::none)
    return Reason::icmp_error_quote_malformed;
  // Errors go to the sender of the packet that caused them (RFC 792, RFC 4443 2.2): one about
  // another host's packet is not this host's to receive.
  if (!(quote.src == parsed.dst)) return Reason::icmp_error_no_flow;

  // The quoted packet's flow key, as classify would have built it for that packet (ports 0 for
  // ICMP and protocols without ports, as the parser leaves them).
  ParsedPacket quoted;
  quoted.ip_version = parsed.ip_version;
  quoted.l4_protocol = quote.protocol;
  quoted.src = quote.src;
  quoted.dst = quote.dst;
  if (quote.has_ports && !quote.echo) {
    quoted.src_port = quote.source_port;
    quoted.dst_port = quote.destination_port;
  }
  FlowKey key;
  const bool quote_source_is_a = make_flow_key(quoted, key);
  const FlowKey* keys[1] = {&key};
  int32_t position = -1;
  flows_.lookup_bulk(keys, 1, &position);
  if (position < 0) return Reason::icmp_error_no_flow;
  const FlowEntry& flow = flows_.entry(position);
  // The quote must be a packet the inside host sent: from the initiator toward the responder.
  if (!lifecycle_.live(flow, now_tsc) || quote_source_is_a != flow.initiator_is_a) return Reason::icmp_error_no_flow;
  if (flow.verdict == FlowVerdict::denied_enforced) return Reason::icmp_error_flow_denied;
  return Reason::count;
}

}  // namespace sluice
