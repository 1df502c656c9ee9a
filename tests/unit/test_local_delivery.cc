// decide_local: the health probe, the kernel services and the rest, for own addresses.
#include "dataplane/local/local_delivery.h"

#include <gtest/gtest.h>

#include "tests/unit/frame_builder.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint16_t kProbePort = 8080;

ParsedPacket tcp(uint16_t dst_port, uint8_t flags, size_t payload = 0, uint8_t protocol = kIpProtoTcp) {
  Tcp4 spec;
  spec.src = "198.18.9.9";
  spec.dst = "198.18.1.254";
  spec.dst_port = dst_port;
  spec.flags = flags;
  spec.payload = Bytes(payload, 'p');
  ParsedPacket packet;
  EXPECT_EQ(parse_packet(test::tcp4_frame(spec, protocol), packet), PacketParseError::none);
  return packet;
}

KernelServiceFilter ssh_only() {
  KernelServiceFilter filter;
  KernelService ssh;
  ssh.protocol = kIpProtoTcp;
  ssh.ports[ssh.port_count++] = 22;
  filter.add(ssh);
  return filter;
}

TEST(LocalDelivery, ProbeSynIsAnsweredOnlyWhileReady) {
  const KernelServiceFilter kernel = ssh_only();
  const LocalDeliveryRules rules{kProbePort, &kernel};
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpSyn), rules, true), LocalAction::probe_syn_ack);
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpSyn), rules, false), LocalAction::probe_not_ready);
}

TEST(LocalDelivery, ProbeConnectionAfterTheSyn) {
  const LocalDeliveryRules rules{kProbePort, nullptr};
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpAck), rules, true), LocalAction::probe_consumed);
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpRst | kTcpAck), rules, true), LocalAction::probe_consumed);
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpRst), rules, true), LocalAction::probe_consumed);
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpSyn | kTcpAck), rules, true), LocalAction::probe_consumed);
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpFin | kTcpAck), rules, true), LocalAction::probe_reset);
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpPsh | kTcpAck, 5), rules, true), LocalAction::probe_reset);
  // Not ready: silent on every segment.
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpFin | kTcpAck), rules, false), LocalAction::probe_not_ready);
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpAck), rules, false), LocalAction::probe_not_ready);
}

TEST(LocalDelivery, ProbePortOffOrOtherProtocolIsNoProbe) {
  const KernelServiceFilter kernel = ssh_only();
  EXPECT_EQ(decide_local(tcp(kProbePort, kTcpSyn), {0, &kernel}, true), LocalAction::not_allowed);
  EXPECT_EQ(decide_local(tcp(kProbePort, 0, 0, kIpProtoUdp), {kProbePort, &kernel}, true), LocalAction::not_allowed);
  EXPECT_EQ(decide_local(tcp(kProbePort + 1, kTcpSyn), {kProbePort, &kernel}, true), LocalAction::not_allowed);
}

TEST(LocalDelivery, KernelServicesGoToTheKernelWhateverTheReadiness) {
  const KernelServiceFilter kernel = ssh_only();
  const LocalDeliveryRules rules{kProbePort, &kernel};
  EXPECT_EQ(decide_local(tcp(22, kTcpSyn), rules, true), LocalAction::to_kernel);
  EXPECT_EQ(decide_local(tcp(22, kTcpSyn), rules, false), LocalAction::to_kernel);  // SSH in while drained
  EXPECT_EQ(decide_local(tcp(23, kTcpSyn), rules, true), LocalAction::not_allowed);
  EXPECT_EQ(decide_local(tcp(22, kTcpSyn), {kProbePort, nullptr}, true), LocalAction::not_allowed);  // no tap
}

TEST(LocalDelivery, FragmentToTheProbePortIsNotAnswered) {
  Tcp4 spec;
  spec.dst_port = kProbePort;
  spec.flags = kTcpSyn;
  Bytes frame = test::tcp4_frame(spec);
  frame[20] = 0x20;  // MF
  test::refresh_ipv4_checksum(frame);
  ParsedPacket packet;
  ASSERT_EQ(parse_packet(frame, packet), PacketParseError::none);
  EXPECT_EQ(decide_local(packet, {kProbePort, nullptr}, true), LocalAction::probe_consumed);
}

}  // namespace
}  // namespace sluice
