// libFuzzer target: the quote of an ICMP/ICMPv6 error (dataplane/parse/icmp_error_quote.h), as
// source NAT and the packet processor read it. The first input byte picks the family (bit 0),
// where the quote starts (bits 1-3) and how many bytes are cut off its end (bits 4-7); the rest
// is the bytes. Beyond not crashing: a quote read lies inside [start, end), its addresses are
// the bytes at the family's offsets, its ports are the first bytes of an L4 header that fits,
// and only an ICMP echo of the error's family is read as an echo.
#include <cstring>
#include <vector>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/icmp_error_quote.h"
#include "dataplane/parse/packet_parser.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  const std::vector<uint8_t> bytes(data + 1, data + size);
  const uint8_t family = (control & 1) ? 6 : 4;
  const size_t start = (control >> 1) & 7;
  const size_t cut = control >> 4;
  const size_t end = bytes.size() > cut ? bytes.size() - cut : 0;
  IcmpQuote quote;
  const IcmpQuoteError error = parse_icmp_quote(bytes, start, end, family, quote);
  FUZZ_CHECK(std::strcmp(to_string(error), "unknown") != 0);
  // A span shorter than the end it is told: never read past the span.
  IcmpQuote clamped;
  parse_icmp_quote(std::span<const uint8_t>(bytes.data(), end), start, bytes.size() + 64, family, clamped);
  if (error != IcmpQuoteError::none) return 0;
  const size_t address = family == 4 ? 4 : 16;
  FUZZ_CHECK(quote.l3 == start && quote.l4 > start && quote.l4 <= end + (quote.has_ports ? 0 : 64));
  FUZZ_CHECK(quote.src.family == family && quote.dst.family == family);
  FUZZ_CHECK(std::memcmp(quote.src.bytes, bytes.data() + start + (family == 4 ? 12 : 8), address) == 0);
  FUZZ_CHECK(std::memcmp(quote.dst.bytes, bytes.data() + start + (family == 4 ? 16 : 24), address) == 0);
  FUZZ_CHECK((bytes[start] >> 4) == family);
  const bool icmp = quote.protocol == (family == 4 ? kIpProtoIcmp : kIpProtoIcmpv6);
  FUZZ_CHECK(quote.has_ports == (icmp || quote.protocol == kIpProtoTcp || quote.protocol == kIpProtoUdp));
  FUZZ_CHECK(quote.echo == icmp);
  if (!quote.has_ports) return 0;
  FUZZ_CHECK(quote.l4 + 8 <= end);
  if (quote.echo) {
    FUZZ_CHECK(quote.source_port == load_be16(bytes.data() + quote.l4 + 4) && quote.destination_port == 0);
  } else {
    FUZZ_CHECK(quote.source_port == load_be16(bytes.data() + quote.l4));
    FUZZ_CHECK(quote.destination_port == load_be16(bytes.data() + quote.l4 + 2));
  }
  return 0;
}
