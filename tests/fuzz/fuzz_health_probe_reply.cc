// libFuzzer target: what a worker does with an arbitrary frame for one of the appliance's own
// addresses: the health probe's SYN-ACK (build_tcp_syn_ack, into a buffer and in place over
// the frame) and the kernel-service filter (KernelServiceFilter::admits).
#include <cstring>
#include <vector>

#include "dataplane/local/kernel_service_filter.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/verdict/tcp_syn_ack.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

constexpr size_t kMaxFrame = 65535;

KernelServiceFilter make_filter() {
  KernelServiceFilter filter;
  KernelService ssh;
  ssh.protocol = kIpProtoTcp;
  ssh.ports[ssh.port_count++] = 22;
  ssh.sources[ssh.source_count++] = {IpAddress{4, {198, 18}}, 15};
  ssh.sources[ssh.source_count++] = {IpAddress{6, {0x20, 0x01, 0x0d, 0xb8}}, 32};
  filter.add(ssh);
  KernelService ping;
  ping.protocol = kIpProtoIcmp;
  filter.add(ping);
  return filter;
}

const KernelServiceFilter kFilter = make_filter();

bool opening_syn(const ParsedPacket& p) {
  return p.l4_protocol == kIpProtoTcp && !p.is_fragment && (p.ip_version == 4 || p.ip_version == 6) &&
         (p.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin)) == kTcpSyn;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxFrame) return 0;
  const std::vector<uint8_t> frame(data, data + size);  // exact size: ASan sees over-reads
  ParsedPacket in;
  if (parse_packet(frame, in) != PacketParseError::none) return 0;

  const bool admitted = kFilter.admits(in);
  if (admitted) {
    FUZZ_CHECK(!in.is_fragment);
    FUZZ_CHECK(in.l4_protocol == kIpProtoTcp ? in.dst_port == 22 : in.icmp_type == 8 || in.icmp_type == 128);
  }

  std::vector<uint8_t> out(size + 64);
  const uint32_t isn = 0x5eed1234;
  const size_t length = build_tcp_syn_ack(frame, in, isn, out);
  FUZZ_CHECK((length != 0) == opening_syn(in));
  if (length == 0) return 0;
  FUZZ_CHECK(length == size_t(in.l3_offset) + (in.ip_version == 4 ? 20 : 40) + 20);
  out.resize(length);
  ParsedPacket answer;
  FUZZ_CHECK(parse_packet(out, answer) == PacketParseError::none);
  FUZZ_CHECK(answer.src == in.dst && answer.dst == in.src);
  FUZZ_CHECK(answer.src_port == in.dst_port && answer.dst_port == in.src_port);
  FUZZ_CHECK(answer.tcp_flags == (kTcpSyn | kTcpAck));
  FUZZ_CHECK(answer.tcp_seq == isn && answer.tcp_ack == in.tcp_seq + 1);
  FUZZ_CHECK(answer.payload_length == 0 && answer.vlan_count == in.vlan_count);
  FUZZ_CHECK(tcp_checksum_ok(out, answer));
  FUZZ_CHECK(std::memcmp(out.data(), frame.data() + 6, 6) == 0 && std::memcmp(out.data() + 6, frame.data(), 6) == 0);

  // In place over the frame (the worker answers in the SYN's own buffer): the same bytes.
  std::vector<uint8_t> in_place(frame);
  if (in_place.size() >= length) {
    FUZZ_CHECK(build_tcp_syn_ack(in_place, in, isn, in_place) == length);
    FUZZ_CHECK(std::memcmp(in_place.data(), out.data(), length) == 0);
  }
  return 0;
}
