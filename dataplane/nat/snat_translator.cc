#include "dataplane/nat/snat_translator.h"

#include <cstring>

#include "dataplane/nat/checksum_update.h"
#include "dataplane/parse/icmp_error_quote.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/verdict/internet_checksum.h"

namespace sluice {

namespace {

// A checksum a rewrite must keep right: its field, and whether it is UDP's (0 means "none").
struct ChecksumField {
  uint8_t* field = nullptr;
  bool udp = false;
};

// Writes `value` over the `length` bytes at `at` and updates each checksum that covers them.
void rewrite(uint8_t* at, const uint8_t* value, size_t length, ChecksumField first, ChecksumField second = {}) {
  uint8_t before[16];
  std::memcpy(before, at, length);
  std::memcpy(at, value, length);
  for (ChecksumField sum : {first, second}) {
    if (sum.field == nullptr) continue;
    const uint16_t old_value = load_be16(sum.field);
    if (sum.udp && old_value == 0) continue;
    uint16_t updated = checksum_update(old_value, before, at, length);
    // RFC 1624's update yields 0x0000 where the covered bytes now sum to +0 (all zero: an ICMPv4
    // echo of identifier 0 and nothing else), and only 0xffff verifies there; 0xffff verifies
    // wherever 0x0000 does, and UDP reads 0x0000 as "no checksum".
    if (updated == 0) updated = 0xffff;
    store_be16(sum.field, updated);
  }
}

void rewrite_port(uint8_t* at, uint16_t port, ChecksumField sum) {
  uint8_t value[2];
  store_be16(value, port);
  rewrite(at, value, 2, sum);
}

bool is_icmp(uint8_t family, uint8_t protocol) {
  return (family == 4 && protocol == kIpProtoIcmp) || (family == 6 && protocol == kIpProtoIcmpv6);
}
bool is_echo_request(uint8_t family, uint8_t type) { return family == 4 ? type == 8 : type == 128; }
bool is_echo_reply(uint8_t family, uint8_t type) { return family == 4 ? type == 0 : type == 129; }

size_t source_offset(uint8_t family) { return family == 4 ? 12 : 8; }
size_t destination_offset(uint8_t family) { return family == 4 ? 16 : 24; }
size_t address_length(uint8_t family) { return family == 4 ? 4 : 16; }

// Where a TCP/UDP/ICMP echo header keeps what SNAT rewrites.
struct L4Fields {
  size_t source_port = 0;       // the source port, or the echo identifier
  size_t destination_port = 0;  // the destination port, or the echo identifier
  ChecksumField checksum;
  bool pseudo_header = true;    // the checksum covers the addresses (not ICMPv4's)
  bool echo = false;
};

// The fields of the L4 header at `l4` (ending at `end`), or false when it is too short or not
// one SNAT translates. A `quoted` header (inside an ICMP error) may stop after its first 8 bytes
// (RFC 792): a TCP checksum cut off is not there to update.
bool l4_fields(uint8_t* frame, size_t l4, size_t end, uint8_t family, uint8_t protocol, L4Fields& out,
               bool quoted = false) {
  if (protocol == kIpProtoTcp) {
    if (l4 + (quoted ? 8 : 18) > end) return false;
    out = {l4, l4 + 2, {l4 + 18 <= end ? frame + l4 + 16 : nullptr, false}, true, false};
    return true;
  }
  if (protocol == kIpProtoUdp) {
    if (l4 + 8 > end) return false;
    // IPv6 has no checksum-less UDP; a zero there is left as it came (the receiver drops it).
    out = {l4, l4 + 2, {frame + l4 + 6, true}, true, false};
    return true;
  }
  if (is_icmp(family, protocol)) {
    if (l4 + 8 > end) return false;
    out = {l4 + 4, l4 + 4, {frame + l4 + 2, false}, family == 6, true};
    return true;
  }
  return false;
}

uint16_t load_port(const uint8_t* frame, size_t offset) { return load_be16(frame + offset); }

// The end of the L3 packet inside the frame.
size_t packet_end(std::span<uint8_t> frame, const ParsedPacket& packet) {
  return packet.l3_end <= frame.size() ? packet.l3_end : frame.size();
}

// The packet an ICMP error quotes (dataplane/parse/icmp_error_quote.h), and where the fields SNAT
// rewrites in it lie.
struct Quote {
  size_t l3 = 0;
  uint8_t protocol = 0;
  IpAddress src;
  IpAddress dst;
  L4Fields fields;
  uint16_t source_port = 0;       // the echo identifier for a quoted echo
  uint16_t destination_port = 0;  // 0 for a quoted echo
};

// False when the quote cannot be read or quotes a protocol SNAT does not translate.
bool read_quote(uint8_t* frame, size_t start, size_t end, uint8_t family, Quote& quote) {
  IcmpQuote parsed;
  if (parse_icmp_quote({frame, end}, start, end, family, parsed) != IcmpQuoteError::none || !parsed.has_ports)
    return false;
  if (!l4_fields(frame, parsed.l4, end, family, parsed.protocol, quote.fields, true)) return false;
  quote.l3 = parsed.l3;
  quote.protocol = parsed.protocol;
  quote.src = parsed.src;
  quote.dst = parsed.dst;
  quote.source_port = parsed.source_port;
  quote.destination_port = parsed.destination_port;
  return true;
}

bool icmp_checksum_ok(std::span<uint8_t> frame, const ParsedPacket& packet, size_t end) {
  std::span<const uint8_t> message(frame.data() + packet.l4_offset, end - packet.l4_offset);
  if (packet.ip_version == 4) return checksum_fold(checksum_sum(message.data(), message.size())) == 0;
  return l4_checksum(packet.src, packet.dst, kIpProtoIcmpv6, message) == 0;
}

void icmp_checksum_set(std::span<uint8_t> frame, const ParsedPacket& packet, size_t end) {
  uint8_t* field = frame.data() + packet.l4_offset + 2;
  store_be16(field, 0);
  std::span<const uint8_t> message(frame.data() + packet.l4_offset, end - packet.l4_offset);
  const uint16_t sum = packet.ip_version == 4 ? checksum_fold(checksum_sum(message.data(), message.size()))
                                              : l4_checksum(packet.src, packet.dst, kIpProtoIcmpv6, message);
  store_be16(field, sum);
}

ChecksumField ipv4_header_checksum(uint8_t* frame, size_t l3, uint8_t family) {
  return family == 4 ? ChecksumField{frame + l3 + 10, false} : ChecksumField{};
}

// Rewrites the quote's source (inbound) or destination (outbound) address and port.
void rewrite_quote(uint8_t* frame, uint8_t family, Quote& quote, bool source, const uint8_t* address, uint16_t port) {
  const size_t at = quote.l3 + (source ? source_offset(family) : destination_offset(family));
  const ChecksumField l4_sum = quote.fields.pseudo_header ? quote.fields.checksum : ChecksumField{};
  rewrite(frame + at, address, address_length(family), ipv4_header_checksum(frame, quote.l3, family), l4_sum);
  if (quote.fields.echo) {
    rewrite_port(frame + quote.fields.source_port, port, quote.fields.checksum);
  } else {
    rewrite_port(frame + (source ? quote.fields.source_port : quote.fields.destination_port), port,
                 quote.fields.checksum);
  }
}

SnatResult icmp_error_inbound(std::span<uint8_t> frame, ParsedPacket& packet, SnatTable& table, uint64_t now) {
  SnatResult result;
  result.icmp_error = true;
  const size_t end = packet_end(frame, packet);
  Quote quote;
  if (packet.is_fragment || !read_quote(frame.data(), packet.l4_offset + 8, end, packet.ip_version, quote)) return result;
  // The quote is a packet this appliance sent: from the SNAT address the error comes back to.
  if (!(quote.src == packet.dst) || !icmp_checksum_ok(frame, packet, end)) return result;
  const NatKey outside = make_nat_key(quote.protocol, quote.src, quote.source_port, quote.dst, quote.destination_port);
  const int32_t index = table.find_outside(outside);
  if (index < 0 || table.binding(index).state != static_cast<uint8_t>(SnatBindingState::active)) {
    result.status = SnatStatus::no_binding;
    return result;
  }
  table.touch(index, now);
  const SnatBinding& binding = table.binding(index);
  const uint8_t family = packet.ip_version;
  uint8_t* bytes = frame.data();
  rewrite(bytes + packet.l3_offset + destination_offset(family), binding.inside.local, address_length(family),
          ipv4_header_checksum(bytes, packet.l3_offset, family));
  rewrite_quote(bytes, family, quote, true, binding.inside.local, binding.inside.local_port);
  packet.dst = local_address(binding.inside);
  icmp_checksum_set(frame, packet, end);
  result.status = SnatStatus::translated;
  result.binding = index;
  return result;
}

SnatResult icmp_error_outbound(std::span<uint8_t> frame, ParsedPacket& packet, SnatTable& table, uint64_t now) {
  SnatResult result;
  result.icmp_error = true;
  const size_t end = packet_end(frame, packet);
  Quote quote;
  if (packet.is_fragment || !read_quote(frame.data(), packet.l4_offset + 8, end, packet.ip_version, quote)) return result;
  // The client reports a packet it received: the quote runs from the error's destination to its
  // source. A quote of anyone else's flow is refused.
  if (!(quote.dst == packet.src) || !(quote.src == packet.dst) || !icmp_checksum_ok(frame, packet, end)) return result;
  const uint16_t client_port = quote.fields.echo ? quote.source_port : quote.destination_port;
  const uint16_t server_port = quote.fields.echo ? 0 : quote.source_port;
  const NatKey inside = make_nat_key(quote.protocol, quote.dst, client_port, quote.src, server_port);
  const int32_t index = table.find_inside(inside);
  if (index < 0) {
    result.status = SnatStatus::no_binding;
    return result;
  }
  table.touch(index, now);
  const SnatBinding& binding = table.binding(index);
  const uint8_t family = packet.ip_version;
  uint8_t* bytes = frame.data();
  rewrite(bytes + packet.l3_offset + source_offset(family), binding.outside.local, address_length(family),
          ipv4_header_checksum(bytes, packet.l3_offset, family));
  rewrite_quote(bytes, family, quote, false, binding.outside.local, binding.outside.local_port);
  packet.src = local_address(binding.outside);
  icmp_checksum_set(frame, packet, end);
  result.status = SnatStatus::translated;
  result.binding = index;
  return result;
}

// What the outer packet's own L4 header lets SNAT do; false with `result` set when nothing.
bool outer_fields(std::span<uint8_t> frame, const ParsedPacket& packet, L4Fields& fields, SnatResult& result) {
  if (packet.is_later_fragment) {
    result.status = SnatStatus::later_fragment;
    return false;
  }
  const uint8_t protocol = packet.l4_protocol;
  if (protocol != kIpProtoTcp && protocol != kIpProtoUdp && !is_icmp(packet.ip_version, protocol)) {
    result.status = SnatStatus::unsupported;
    return false;
  }
  if (!l4_fields(frame.data(), packet.l4_offset, packet_end(frame, packet), packet.ip_version, protocol, fields)) {
    result.status = SnatStatus::malformed;
    return false;
  }
  return true;
}

}  // namespace

SnatResult snat_outbound(std::span<uint8_t> frame, ParsedPacket& packet, SnatTable& table, uint64_t now) {
  SnatResult result;
  if (packet.ip_version != 4 && packet.ip_version != 6) return result;
  L4Fields fields;
  if (!outer_fields(frame, packet, fields, result)) return result;
  if (fields.echo) {
    if (is_icmp_error_type(packet.ip_version, packet.icmp_type)) return icmp_error_outbound(frame, packet, table, now);
    if (!is_echo_request(packet.ip_version, packet.icmp_type)) {
      result.status = SnatStatus::unsupported;
      return result;
    }
  }
  uint8_t* bytes = frame.data();
  const uint16_t client_port = load_port(bytes, fields.source_port);
  const uint16_t server_port = fields.echo ? 0 : load_port(bytes, fields.destination_port);
  const NatKey inside = make_nat_key(packet.l4_protocol, packet.src, client_port, packet.dst, server_port);
  int32_t index = table.find_inside(inside);
  if (index >= 0) {
    table.touch(index, now);
  } else {
    const SnatAllocation allocation = table.allocate(inside, now);
    if (allocation.status != SnatAllocationStatus::ok) {
      result.status = SnatStatus::exhausted;
      result.allocation = allocation.status;
      return result;
    }
    index = allocation.index;
  }
  const SnatBinding& binding = table.binding(index);
  const uint8_t family = packet.ip_version;
  const ChecksumField l4_sum = fields.pseudo_header ? fields.checksum : ChecksumField{};
  rewrite(bytes + packet.l3_offset + source_offset(family), binding.outside.local, address_length(family),
          ipv4_header_checksum(bytes, packet.l3_offset, family), l4_sum);
  rewrite_port(bytes + fields.source_port, binding.outside.local_port, fields.checksum);
  packet.src = local_address(binding.outside);
  if (!fields.echo) packet.src_port = binding.outside.local_port;
  result.status = SnatStatus::translated;
  result.binding = index;
  return result;
}

SnatResult snat_inbound(std::span<uint8_t> frame, ParsedPacket& packet, SnatTable& table, uint64_t now) {
  SnatResult result;
  if (packet.ip_version != 4 && packet.ip_version != 6) return result;
  L4Fields fields;
  if (!outer_fields(frame, packet, fields, result)) return result;
  if (fields.echo) {
    if (is_icmp_error_type(packet.ip_version, packet.icmp_type)) return icmp_error_inbound(frame, packet, table, now);
    if (!is_echo_reply(packet.ip_version, packet.icmp_type)) {
      result.status = SnatStatus::no_binding;  // an echo request to a SNAT address is not a return packet
      return result;
    }
  }
  uint8_t* bytes = frame.data();
  const uint16_t translated_port = load_port(bytes, fields.destination_port);
  const uint16_t server_port = fields.echo ? 0 : load_port(bytes, fields.source_port);
  const NatKey outside = make_nat_key(packet.l4_protocol, packet.dst, translated_port, packet.src, server_port);
  const int32_t index = table.find_outside(outside);
  if (index < 0 || table.binding(index).state != static_cast<uint8_t>(SnatBindingState::active)) {
    result.status = SnatStatus::no_binding;
    return result;
  }
  table.touch(index, now);
  const SnatBinding& binding = table.binding(index);
  const uint8_t family = packet.ip_version;
  const ChecksumField l4_sum = fields.pseudo_header ? fields.checksum : ChecksumField{};
  rewrite(bytes + packet.l3_offset + destination_offset(family), binding.inside.local, address_length(family),
          ipv4_header_checksum(bytes, packet.l3_offset, family), l4_sum);
  rewrite_port(bytes + fields.destination_port, binding.inside.local_port, fields.checksum);
  packet.dst = local_address(binding.inside);
  if (!fields.echo) packet.dst_port = binding.inside.local_port;
  result.status = SnatStatus::translated;
  result.binding = index;
  return result;
}

bool is_snat_address(const SnatTable& table, const IpAddress& address) {
  for (const IpAddress& own : table.addresses())
    if (own == address) return true;
  return false;
}

const char* to_string(SnatStatus status) {
  switch (status) {
    case SnatStatus::translated: return "translated";
    case SnatStatus::no_binding: return "no_binding";
    case SnatStatus::exhausted: return "exhausted";
    case SnatStatus::later_fragment: return "later_fragment";
    case SnatStatus::unsupported: return "unsupported";
    case SnatStatus::malformed: return "malformed";
  }
  return "unknown";
}

}  // namespace sluice
