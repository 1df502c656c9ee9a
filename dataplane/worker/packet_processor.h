// The per-packet work of one worker, shared by sluiced's worker loop and `sluicectl replay`:
// parse → flow lookup (bulk, per burst) → judge new flows → act. This is the burst driver; the
// stages it drives live in dataplane/worker/stage/. No allocation, lock, syscall
// or exception here; replies (TCP resets, ICMP errors) come from a pre-allocated mempool, and
// the reassembly buffers, fragment memory and learned-address overlay are allocated up front.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/flow/flow_table.h"
#include "dataplane/flow/flow_timeouts.h"
#include "dataplane/flow/fragment_reassembler.h"
#include "dataplane/flow/fragment_tracker.h"
#include "dataplane/flow/stream_reassembler.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/policy/learned_addresses.h"
#include "dataplane/worker/flow_event.h"
#include "dataplane/worker/stage/dns_guard.h"
#include "dataplane/worker/stage/emit.h"
#include "dataplane/worker/stage/flow_lifecycle.h"
#include "dataplane/worker/stage/follow.h"
#include "dataplane/worker/stage/icmp_error.h"
#include "dataplane/worker/stage/inspect.h"
#include "dataplane/worker/stage/judge.h"
#include "dataplane/worker/stage/learn.h"
#include "dataplane/worker/stage/packet_context.h"
#include "dataplane/worker/stage/reply.h"
#include "dataplane/worker/stage/source_translation.h"
#include "dataplane/worker/worker_counters.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace sluice {

inline constexpr uint16_t kBurstSize = 32;
// A packet that settles a flow's verdict releases the pieces held for it (held_segments.h) ahead
// of itself, and when it completes an IP datagram, that datagram's fragments: at most
// 2 × kMaxHeldSegments more a packet, besides itself or an onward reset.
inline constexpr uint16_t kBurstForwardCapacity = kBurstSize * (2 + 2 * kMaxHeldSegments);
// A reassembled IP datagram is judged as one frame: the first fragment's headers (Ethernet to
// the fragment header, at most kMaxL3Header bytes) and the datagram (a TCP header of at most
// kMaxL4Header bytes, then the message's bound).
inline constexpr uint32_t kMaxL3Header = 256;
inline constexpr uint32_t kMaxL4Header = 60;

struct BurstOutput {
  // Out of the other side's port: forwarded packets (held pieces released at their flow's
  // verdict among them), and resets sent on to the far end. A burst adds at most one onward
  // reset per packet it drops.
  rte_mbuf* forward[kBurstForwardCapacity];
  uint16_t forward_count = 0;
  rte_mbuf* replies[kBurstSize];  // back out of the ingress port (TCP resets, ICMP errors)
  uint16_t reply_count = 0;
};

// DNS learning's clamps (seconds): an answer's TTL is raised to `min_ttl`, cut to `max_ttl`,
// and the address stays usable `grace` longer, so that a flow opened just before expiry works.
struct DnsLearningLimits {
  uint32_t min_ttl = 30;
  uint32_t max_ttl = 3600;
  uint32_t grace = 60;
};

struct PacketProcessorSetup {
  uint16_t worker_index = 0;
  FlowTable* flows = nullptr;
  rte_ring* events = nullptr;         // FlowEvent elements; single producer: this worker
  rte_mempool* reply_pool = nullptr;  // mbufs for resets and ICMP errors
  WorkerCounters* counters = nullptr;
  bool emit_allowed_flows = false;    // also send ALLOW verdicts as events (flow log)
  FlowTimeoutSeconds timeouts;
  uint32_t tls_max_client_hello_bytes = 16384;  // reassembly bound of a ClientHello
  uint32_t http_max_head_bytes = 8192;          // reassembly bound of an HTTP request head
  uint32_t reassembly_slots = 1024;             // ClientHellos/heads being reassembled at once
  // Pieces of messages under reassembly and QUIC Initials held (their mbufs kept) until their
  // flow's verdict, over all slots: bounds the receive mbufs stalled flows can pin. More are
  // dropped (held_segments_full), or deny their QUIC flow (quic_held_datagrams_full).
  uint32_t held_segments = 2048;
  // QUIC flows whose ClientHello is being read at once; each slot holds tls_max_client_hello_bytes
  // of CRYPTO stream and a bit a byte of what arrived. More are denied (quic_capacity_exhausted).
  uint32_t quic_slots = 256;
  uint32_t fragment_slots = 4096;               // first fragments remembered
  uint32_t fragment_lifetime_seconds = 30;
  // IP datagrams carrying a piece of a message under judgement reassembled at once (each up to
  // the larger message bound plus a TCP header); more are dropped (fragment_capacity_exhausted).
  uint32_t fragment_reassembly_slots = 64;
  uint32_t deny_replies_per_second = 10000;     // resets/ICMP errors for retries of denied flows
  // DNS learning: answers from allowed resolvers for allowed names become LearnedAddressEvents
  // on `learned` (single producer: this worker); workers read the control thread's published
  // table through `learned_table` (also to bind names to addresses). Both null: no learning,
  // and no name is bound. A table without a ring: bindings the caller fixed (sluicectl explain).
  rte_ring* learned = nullptr;
  const std::atomic<const LearnedAddressTable*>* learned_table = nullptr;
  // Several workers: every worker's answers not yet in the table, readable by all (one board a
  // set of workers, recent_answers.h). Null: this worker's own answers only.
  RecentAnswerBoard* recent_answers = nullptr;
  DnsLearningLimits dns_learning;
  // Forwarded DNS queries remembered per worker until answered (their answers alone teach), and
  // how long an answer may take. A full set of the table forgets its oldest query.
  uint32_t dns_pending_queries = 4096;
  uint32_t dns_answer_deadline_seconds = 10;
  // False when the caller cannot tell the ports apart (`sluicectl replay` without
  // --outside-mac: every frame enters "inside"): answers on the inside are then not refused.
  bool sides_known = true;
  // When true the caller sets the clock (set_clock) instead of the TSC: `sluicectl replay`
  // runs on the capture's timestamps so that timeouts and TTLs replay as they happened.
  bool external_clock = false;
  // Routed mode with source NAT (null otherwise): a new flow whose first packet leaves gets its
  // translation at its verdict (refused snat_ports_exhausted, with a record, when none can be
  // had), and every event carries the source its flow left with. The router owns it
  // (Router::source_translation); set after the router is made, before the worker starts.
  SourceTranslation* source_translation = nullptr;
};

class PacketProcessor {
 public:
  explicit PacketProcessor(const PacketProcessorSetup& setup);
  PacketProcessor(const PacketProcessor&) = delete;  // the stages hold references into it
  PacketProcessor& operator=(const PacketProcessor&) = delete;

  // Judges and sorts `count` (≤ kBurstSize) packets received on `ingress`. Dropped packets are
  // freed here; forwarded ones and replies are handed back in `out` for the caller to send.
  void process_burst(const CompiledPolicy& policy, Side ingress, rte_mbuf** packets, uint16_t count,
                     BurstOutput& out);

  // Idle aging: looks at up to `budget` flow-table positions (round robin) and removes the flows
  // idle past their state's timeout. The worker calls it every loop iteration, with a larger
  // budget when idle, so that aging costs nothing per packet.
  // `policy` (may be null) tells a flow denied at its pending deadline DROP from DRY_RUN_DENIAL.
  uint32_t expire_idle(uint32_t budget, const CompiledPolicy* policy = nullptr);

  // Frees every mbuf still held for a verdict (pieces of messages, QUIC Initials, fragments),
  // counted held_segment_discarded. Call it before the buffers' pool goes away.
  void discard_held();

  void set_clock(uint64_t tsc) { clock_tsc_ = tsc; }
  void set_source_translation(SourceTranslation* translation) { setup_.source_translation = translation; }
  uint16_t worker_index() const { return setup_.worker_index; }

 private:
  uint64_t now() const;
  void handle_packet(const CompiledPolicy& policy, Side ingress, PacketContext& packet, int32_t position,
                     BurstOutput& out);
  void handle_later_fragment(const CompiledPolicy& policy, PacketContext& packet, BurstOutput& out);
  // packet_processor_fragments.cc: IP fragments of a flow still waiting for its verdict.
  void take_fragment(const CompiledPolicy& policy, PacketContext& packet, int32_t position, BurstOutput& out);
  void judge_datagram(const CompiledPolicy& policy, int32_t slot, int32_t position, BurstOutput& out);
  void deny_by_fragment(const CompiledPolicy& policy, int32_t slot, int32_t position, Reason reason);
  void settle_fragments(const PacketContext& packet, int32_t slot, const FlowEntry& flow, BurstOutput& out);
  int32_t start_datagram(const PacketContext& packet);
  void judge(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, int32_t position, bool is_new,
             BurstOutput& out);
  bool follow(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, int32_t position, BurstOutput& out);
  void translate_new_flow(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                          Decision& decision);
  void settle_held(const PacketContext& packet, const FlowEntry& flow, BurstOutput& out);
  void settle_released(ReleasedPieces& released, const PacketContext& packet, const FlowEntry& flow,
                       BurstOutput& out);
  void drop(rte_mbuf* packet, Reason reason);

  // The stages (dataplane/worker/stage/), each owning its own worker-private state. Declared in
  // the order they are built: a stage holds references to those above it.
  PacketProcessorSetup setup_;
  uint64_t tsc_hz_ = 0;
  DnsLearner learner_;
  Judge judge_;
  Inspector inspector_;
  StreamFollower follower_;
  Emitter emitter_;
  DnsGuard dns_guard_;
  Replier replier_;
  FlowLifecycle lifecycle_;
  IcmpErrorAdmission icmp_errors_;  // errors from outside, admitted on the flow they quote
  FragmentTracker fragments_;
  FragmentReassembler datagrams_;             // fragmented datagrams of pending flows
  HeldSegments held_fragments_;               // their fragments' mbufs, by datagram slot
  std::unique_ptr<uint8_t[]> datagram_frame_;  // a reassembled datagram as one frame, to judge
  uint64_t burst_tsc_ = 0;  // the clock at the start of the burst being processed
  uint64_t clock_tsc_ = 0;  // external_clock only
};

}  // namespace sluice
