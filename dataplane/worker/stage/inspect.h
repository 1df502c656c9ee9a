// Inspect stage: a TLS or HTTP flow is judged on the name in its first bytes (ClientHello SNI,
// request Host). The first segment is parsed where it lies; only a message spread over several
// segments (or out of order) is reassembled, in a slot of a fixed pool. A QUIC flow is judged on
// the ClientHello in its client's Initial packets (inspect_quic.cc), read with a per-worker
// decryptor into a CRYPTO stream slot of another fixed pool.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "dataplane/flow/flow_table.h"
#include "dataplane/flow/stream_reassembler.h"
#include "dataplane/parse/tls_client_hello_parser.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/quic/quic_initial_decryptor.h"
#include "dataplane/worker/stage/held_segments.h"
#include "dataplane/worker/stage/packet_context.h"
#include "dataplane/worker/stage/quic_slots.h"

namespace sluice {

struct PacketProcessorSetup;
class Judge;

class Inspector {
 public:
  // Allocates the reassembly slots and the ClientHello scratch (control side, at start).
  Inspector(const PacketProcessorSetup& setup, const Judge& judge);

  // The payload of a pending flow's initiator; undecided while its message is incomplete. Sets
  // the packet's onward_seq when the message is being reassembled, and its hello facts when a
  // ClientHello was parsed.
  Decision inspect_payload(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, FlowName& name,
                           const FlowFacts& facts, uint64_t now_tsc);

  // A datagram from the client of a pending QUIC flow (inspect_quic.cc): undecided while its
  // ClientHello is incomplete. Sets the packet's hold for an Initial that leaves with the verdict,
  // its pending_drop for a datagram that must not pass while the flow stays pending, and its
  // hello facts when a ClientHello was parsed.
  Decision inspect_quic_client(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, FlowName& name,
                               const FlowFacts& facts, uint64_t now_tsc);
  // A datagram from the server of a pending QUIC flow: a Retry or Version Negotiation starts the
  // client's connection attempt again (RFC 9000 6, 17.2.5), and frees the Initials held of the
  // attempt it ends; the datagram itself passes.
  void inspect_quic_server(const PacketContext& packet, FlowEntry& flow);

  // Frees the flow's reassembly or QUIC slot, if it holds one (the field serves both: a flow is
  // TCP or UDP), and any pieces still held in it (held_segment_discarded).
  void release(FlowEntry& flow) {
    if (flow.reassembly_slot < 0) return;
    discard_held(flow, Reason::held_segment_discarded);
    if (flow.inspection == PortClass::quic) {
      quic_slots_.release(flow.reassembly_slot);
    } else {
      reassembler_.release(flow.reassembly_slot);
    }
    flow.reassembly_slot = kNoReassemblySlot;
  }

  // The hold of a pending flow's pieces: a TCP flow's segments, a QUIC flow's Initial datagrams
  // (inspect_hold.cc). Bytes of the message a TCP flow's slot holds (0 without a slot, and for
  // QUIC): a payload segment that does not raise it brought nothing new.
  uint32_t bytes_held(const FlowEntry& flow) const;
  // True when `pieces` more mbufs of `frame_bytes` in all fit the flow's hold and the worker's.
  bool can_hold(const FlowEntry& flow, uint32_t frame_bytes, uint32_t pieces = 1) const;
  // True when it is the flow's own hold that cannot take them (not the worker's, shared).
  bool flow_hold_full(const FlowEntry& flow, uint32_t frame_bytes, uint32_t pieces = 1) const {
    return held_.slot_full(flow.reassembly_slot, frame_bytes, pieces);
  }
  // Holds the packet's mbuf in the flow's slot; false when full (the caller drops it).
  bool hold(const PacketContext& packet, const FlowEntry& flow);
  // Holds `mbuf` (a fragment of the segment at `seq`) in the flow's slot; false when full.
  bool hold_mbuf(const FlowEntry& flow, rte_mbuf* mbuf, uint32_t seq, uint32_t frame_bytes);
  // At the verdict: the held pieces move to `out` in sequence order (returns how many; room for
  // kMaxHeldSegments), or are freed and counted as dropped under `reason`.
  uint16_t release_held(const FlowEntry& flow, rte_mbuf** out);
  void discard_held(const FlowEntry& flow, Reason reason);
  // Frees every piece still held (held_segment_discarded): the worker is going away, and its
  // receive buffers with it after this.
  void discard_all_held();

  bool quic_ready() const { return decryptor_.ready(); }

  // The reassembly slots, which the follow stage also uses for the later messages of a flow.
  StreamReassembler& reassembler() { return reassembler_; }
  // The hold, which the follow stage also uses for the pieces of a flow's later messages.
  HeldSegments& held() { return held_; }

 private:
  Decision judge_stream(const CompiledPolicy& policy, std::span<const uint8_t> stream, bool stream_is_whole,
                        PacketContext& packet, FlowEntry& flow, FlowName& name, const FlowFacts& facts,
                        uint64_t now_tsc);
  Decision judge_client_hello(const CompiledPolicy& policy, ClientHelloStatus status, const ClientHelloInfo& hello,
                              DestinationType type, PacketContext& packet, FlowEntry& flow, FlowName& name,
                              const FlowFacts& facts, uint64_t now_tsc);
  static bool keep_name(std::string_view raw_name, FlowName& name);
  // A message that names no server to judge (no SNI, not TLS, not an HTTP request…) on a flow
  // whose address rule waited for its name: the address rules alone decide, as they would have
  // before any byte was read; `otherwise` (its own reason) when no address rule matches.
  Decision judge_nameless(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                          const Decision& otherwise) const;
  void discard_abandoned_attempt(const FlowEntry& flow);
  // The flow's slot in held_: its reassembly slot, or for QUIC its CRYPTO stream slot after all
  // the reassembly slots; -1 without a slot.
  int32_t held_slot(const FlowEntry& flow) const;

  const PacketProcessorSetup& setup_;
  const Judge& judge_;
  StreamReassembler reassembler_;
  std::unique_ptr<uint8_t[]> hello_scratch_;  // joins a ClientHello spread over TLS records
  QuicInitialDecryptor decryptor_;            // libcrypto contexts and plaintext buffer, made once
  QuicSlots quic_slots_;                      // CRYPTO streams of QUIC flows still pending
  // Mbufs held until their flow's verdict: the pieces in reassembler_'s slots, by slot, then
  // the Initial datagrams of quic_slots_'s flows (held_slot()).
  HeldSegments held_;
};

}  // namespace sluice
