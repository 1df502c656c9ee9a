// Follow stage: after a TLS or HTTP flow is allowed on its first message, every later client byte
// is followed so that every message on the connection is judged, not only the first:
//   HTTP: request head → body (Content-Length or chunked) → next head, whose Host must be the
//         one the connection was allowed for (keep-alive, pipelining);
//   TLS:  record header by record header; a later ClientHello must name the allowed server
//         (a HelloRetryRequest's second hello does), and bytes that are no TLS are refused.
// A message spread over segments is gathered in a reassembly slot, and the segments that carry
// it are held there (held_segments.h) as a first message's are: none leaves before the message is
// judged; they leave in order when it is allowed, and are freed when it is denied. Once judged, the
// message stays in the slot until the server acknowledges it, so that a retransmission rewriting
// it is a conflict. The
// per-flow state (FollowState) is a few dozen bytes at the flow's table position; bodies and
// record payloads are skipped, never buffered. Worker-private, no allocation on the packet path.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "dataplane/flow/flow_table.h"
#include "dataplane/flow/http_stream_follower.h"
#include "dataplane/flow/stream_reassembler.h"
#include "dataplane/flow/tls_record_follower.h"
#include "dataplane/worker/stage/held_segments.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

struct PacketProcessorSetup;

// Where a followed flow's client stream is. Zeroed memory is "no flow" (flow ids start at 1).
struct FollowState {
  uint64_t flow_id;      // the flow this state belongs to: table positions are reused
  uint32_t next_seq;     // the client's next byte to follow
  uint32_t message_seq;  // the first byte of the message in the flow's reassembly slot
  uint32_t held_end;     // holding: one past the judged message kept until acknowledged
  bool tls;              // TLS records (also a CONNECT tunnel's), else HTTP requests
  bool collecting;       // the slot is gathering a message that is not complete yet
  bool holding;          // the slot holds a judged message the server has not acknowledged
  bool first;            // the message at hand is the one the inspect stage already judged
  bool upgraded;         // HTTP: a request asked to switch protocols; nothing after it is readable
  bool connect_allowed;  // HTTP: the connection was allowed on a CONNECT to a named proxy
  bool tunnel;           // TLS inside an allowed CONNECT: its first record must be a ClientHello
  HttpBodyState http;
  TlsRecordState tls_records;
};

// What following did to the packet at hand: dropped alone (`drop`), or the flow's new verdict
// (`decision.decided`: a later message denied), or held in the flow's slot (`hold`: it carries
// bytes of a later message not complete yet).
struct FollowOutcome {
  Reason drop = Reason::count;
  Decision decision;
  bool hold = false;
};

class StreamFollower {
 public:
  // Reserves one FollowState per flow-table position (zeroed pages, touched only when used).
  StreamFollower(const PacketProcessorSetup& setup, StreamReassembler& reassembler, HeldSegments& held);

  // The allow reasons reached on a name: bound to the destination, or let through unbound by a
  // policy's allow_unbound_names (followed all the same: the switch waives the binding, not the
  // rest of the judgement).
  static bool allowed_on_name(Reason reason) {
    return reason == Reason::allowed_domain || reason == Reason::allowed_unbound_name ||
           reason == Reason::allowed_storage_path_style;
  }

  // True for the flows this stage follows: TCP, allowed on a ClientHello's SNI or a request's Host.
  static bool follows(const FlowEntry& flow) {
    return flow.verdict == FlowVerdict::allowed && allowed_on_name(flow.reason) &&
           flow.protocol == kIpProtoTcp &&
           (flow.destination_type == DestinationType::sni || flow.destination_type == DestinationType::http_host);
  }

  // The packet whose first message the inspect stage just allowed (`allowed`): starts following
  // at that message, reads the rest of the stream gathered so far (a pipelined request, a body,
  // more records), and returns `allowed` or the denial of what followed it. Sets `hold` when the
  // packet ends inside a later message not complete yet (then the flow's slot has room for it).
  // Pieces of a judged message taken from its slot are put in `released`: the caller forwards
  // them ahead of the packet when the flow passes, and frees them otherwise.
  Decision begin(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, int32_t position,
                 FlowName& name, const Decision& allowed, bool& hold, ReleasedPieces& released);

  // Any later packet of a followed flow, either side; `released` as for begin().
  FollowOutcome follow(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, int32_t position,
                       FlowName& name, ReleasedPieces& released);

 private:
  struct FreeMemory {
    void operator()(FollowState* states) const { std::free(states); }
  };

  // The policy judging the flow and its server's port: a later request to a storage path-style
  // endpoint is judged on the bucket in its path (judge_head).
  struct Judging {
    const CompiledPolicy& policy;
    uint16_t port;
  };
  Decision feed(const Judging& judging, FollowState& state, FlowEntry& flow, FlowName& name,
                std::span<const uint8_t> bytes, ReleasedPieces& released);
  Decision collect(const Judging& judging, FollowState& state, FlowEntry& flow, FlowName& name,
                   std::span<const uint8_t> bytes, size_t& used, ReleasedPieces& released);
  Decision judge_head(const Judging& judging, FollowState& state, const FlowEntry& flow, FlowName& name,
                      std::span<const uint8_t> head);
  Decision judge_hello(FollowState& state, FlowName& name, std::span<const uint8_t> stream, size_t& message_bytes);
  bool start_collecting(FollowState& state, FlowEntry& flow, uint32_t seq, ReleasedPieces& released);
  bool agrees_with_held(const FlowEntry& flow, uint32_t seq, std::span<const uint8_t> bytes);
  void release(FollowState& state, FlowEntry& flow, ReleasedPieces& released);
  void take_held(const FlowEntry& flow, ReleasedPieces& released);
  // After the packet's bytes were fed: true when it must wait in the slot (it ends inside a later
  // message still being gathered); a denial when the hold cannot take it.
  bool must_hold(const FollowState& state, const FlowEntry& flow, uint32_t end_seq, uint32_t frame_bytes,
                 Decision& refused) const;
  // Holding a whole message for comparison may use three quarters of the slots: the rest stay
  // for messages that must be gathered (a first ClientHello over segments, a later head).
  bool may_hold() const {
    return reassembler_.slots_in_use() < reassembler_.slot_count() - reassembler_.slot_count() / 4;
  }
  Decision deny(const FollowState& state, Reason reason) const;

  const PacketProcessorSetup& setup_;
  StreamReassembler& reassembler_;  // the inspect stage's slots, shared: a flow holds one at a time
  HeldSegments& held_;              // the inspect stage's hold, by slot: the pieces of a message
  std::unique_ptr<FollowState, FreeMemory> states_;  // one per flow-table position
  std::unique_ptr<uint8_t[]> hello_scratch_;         // joins a later ClientHello spread over records
  std::unique_ptr<uint8_t[]> stream_copy_;           // a first message gathered in a slot, read from here
};

}  // namespace sluice
