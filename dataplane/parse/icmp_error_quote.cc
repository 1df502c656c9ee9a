#include "dataplane/parse/icmp_error_quote.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

namespace {

constexpr size_t kIpv4MinHeaderLength = 20;
constexpr size_t kIpv6HeaderLength = 40;
// RFC 792: the quote holds at least the first 64 bits of the original datagram's data.
constexpr size_t kQuotedL4Length = 8;

bool is_echo_request(uint8_t family, uint8_t type) { return family == 4 ? type == 8 : type == 128; }
bool is_echo_reply(uint8_t family, uint8_t type) { return family == 4 ? type == 0 : type == 129; }

}  // namespace

IcmpQuoteError parse_icmp_quote(std::span<const uint8_t> bytes, size_t start, size_t end, uint8_t family,
                                IcmpQuote& out) {
  out = IcmpQuote{};
  if (end > bytes.size()) end = bytes.size();
  if (start > end) return IcmpQuoteError::truncated_ip;
  const size_t available = end - start;
  const uint8_t* p = bytes.data() + start;
  out.l3 = start;
  if (family == 4) {
    if (available < kIpv4MinHeaderLength) return IcmpQuoteError::truncated_ip;
    const size_t header = size_t(p[0] & 0x0f) * 4;
    if ((p[0] >> 4) != 4 || header < kIpv4MinHeaderLength) return IcmpQuoteError::bad_ip_header;
    out.protocol = p[9];
    out.src.family = out.dst.family = 4;
    std::memcpy(out.src.bytes, p + 12, 4);
    std::memcpy(out.dst.bytes, p + 16, 4);
    if ((load_be16(p + 6) & 0x1fff) != 0) return IcmpQuoteError::later_fragment;
    out.l4 = start + header;
  } else if (family == 6) {
    if (available < kIpv6HeaderLength) return IcmpQuoteError::truncated_ip;
    if ((p[0] >> 4) != 6) return IcmpQuoteError::bad_ip_header;
    out.protocol = p[6];
    out.src.family = out.dst.family = 6;
    std::memcpy(out.src.bytes, p + 8, 16);
    std::memcpy(out.dst.bytes, p + 24, 16);
    out.l4 = start + kIpv6HeaderLength;
  } else {
    return IcmpQuoteError::bad_ip_header;
  }
  const bool icmp = (family == 4 && out.protocol == kIpProtoIcmp) || (family == 6 && out.protocol == kIpProtoIcmpv6);
  if (out.protocol != kIpProtoTcp && out.protocol != kIpProtoUdp && !icmp) return IcmpQuoteError::none;
  // An IPv4 header longer than the bytes quoted leaves l4 past the end: the L4 header is cut.
  if (out.l4 > end || end - out.l4 < kQuotedL4Length) return IcmpQuoteError::truncated_l4;
  const uint8_t* l4 = bytes.data() + out.l4;
  if (icmp) {
    if (!is_echo_request(family, l4[0]) && !is_echo_reply(family, l4[0])) return IcmpQuoteError::quoted_not_echo;
    out.echo = true;
    out.echo_request = is_echo_request(family, l4[0]);
    out.source_port = load_be16(l4 + 4);
  } else {
    out.source_port = load_be16(l4);
    out.destination_port = load_be16(l4 + 2);
  }
  out.has_ports = true;
  return IcmpQuoteError::none;
}

const char* to_string(IcmpQuoteError error) {
  switch (error) {
    case IcmpQuoteError::none: return "none";
    case IcmpQuoteError::truncated_ip: return "truncated_ip";
    case IcmpQuoteError::bad_ip_header: return "bad_ip_header";
    case IcmpQuoteError::later_fragment: return "later_fragment";
    case IcmpQuoteError::truncated_l4: return "truncated_l4";
    case IcmpQuoteError::quoted_not_echo: return "quoted_not_echo";
  }
  return "unknown";
}

}  // namespace sluice
