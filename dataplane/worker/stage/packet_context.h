// What the stages of the packet path hand each other about the one packet at hand. Lives on the
// driver's stack for one burst; nothing here outlives its packet, so no stage keeps per-packet
// state in a member.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/flow/flow_entry.h"
#include "dataplane/flow/flow_key.h"
#include "dataplane/parse/ip_address.h"
#include "dataplane/parse/link_local_icmpv6.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/policy/storage_host.h"
#include "dataplane/reason.h"
#include "dataplane/worker/flow_event.h"

struct rte_mbuf;

namespace sluice {

// ALPN and version of the ClientHello this packet completed, for its flow's event.
struct HelloFacts {
  uint16_t version = 0;  // 0: this packet completed no ClientHello
  uint8_t alpn_length = 0;
  char alpn[kMaxRecordedAlpn];  // only the first alpn_length bytes are meaningful
};

struct PacketContext {
  rte_mbuf* mbuf = nullptr;
  std::span<const uint8_t> frame;
  ParsedPacket parsed;
  PacketParseError parse_error = PacketParseError::none;
  bool ipv4_header_checksum_bad = false;  // set by classify: dropped, never judged or forwarded
  LinkLocalIcmpv6 link_control = LinkLocalIcmpv6::not_link_control;  // ND/MLD: set by classify
  Reason drop_before_judging = Reason::count;  // set by judge: drop without inspecting (bad checksum, low TTL)
  FlowKey key;
  bool source_is_a = false;
  bool from_initiator = true;  // sent by the inside host that opened the flow
  bool decided_now = false;    // this packet settled (or changed) its flow's verdict
  uint32_t onward_seq = 0;     // where the far end expects the next byte (for its reset)
  // A datagram of a flow that stays pending but must not pass (a QUIC client's datagram beyond
  // its Initials while the ClientHello is incomplete): dropped under `pending_drop_reason`.
  bool pending_drop = false;
  Reason pending_drop_reason = Reason::quic_not_initial;
  // A piece of a pending TCP flow's message, or an Initial of a pending QUIC flow: held in the
  // flow's slot until the verdict.
  bool hold = false;
  // The first fragment of a datagram of a pending TCP flow: its bytes go to fragment reassembly.
  bool first_fragment = false;
  // A datagram put back together from `pieces` fragments (packet_processor_fragments.cc): its
  // frame is the appliance's, no mbuf stands for it.
  bool reassembled = false;
  uint8_t pieces = 1;
  HelloFacts hello;
  bool followed = false;  // the follow stage has read this packet's bytes (its flow's first verdict)
  // A packet of an allowed, followed flow that ends inside a later message not complete yet: held
  // in the flow's slot until that message is judged (stage/follow.h).
  bool follow_hold = false;
};

// The flow as its initiator (the inside host) sees it, whichever side sent the packet at hand.
struct FlowFacts {
  IpAddress initiator;
  IpAddress responder;
  uint16_t initiator_port = 0;
  uint16_t responder_port = 0;
  uint8_t protocol = 0;
};

inline bool has_ports(uint8_t protocol) { return protocol == kIpProtoTcp || protocol == kIpProtoUdp; }

inline bool is_pure_syn(const ParsedPacket& packet) {
  return (packet.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn;
}

// A stage's judgement of a flow, applied to the flow by the emit stage.
struct Decision {
  bool decided = false;  // false: wait for more payload (inspection says which parser)
  bool allowed = false;
  Reason reason = Reason::ip_not_allowed;
  DestinationType type = DestinationType::ip;
  PortClass inspection = PortClass::none;
  // The name matched a storage path-style endpoint's rule (judge_name): its provider, and
  // whether its policy opens it to TLS. For a plain-HTTP request the path is judged after.
  StorageProvider storage_endpoint = StorageProvider::none;
  bool storage_path_style_allowed = false;
  // The request target's path of a plain-HTTP request judged on it, for the record: a copy (cut
  // to kMaxRecordedPath), since the slot it was read from may take the next message first.
  uint8_t path_length = 0;
  char path[kMaxRecordedPath];  // only the first path_length bytes are meaningful
  void keep_path(std::string_view text) {
    path_length = uint8_t(text.size() < sizeof path ? text.size() : sizeof path);
    for (uint8_t i = 0; i < path_length; ++i) path[i] = text[i];
  }
  std::string_view kept_path() const { return {path, path_length}; }
  uint16_t rule = kNoRule;  // the numbered rule that decided (CompiledRuleset::rules), for records
};

}  // namespace sluice
