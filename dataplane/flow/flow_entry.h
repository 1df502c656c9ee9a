// Per-flow state, one per flow-table position. Worker-private: only the owning worker writes or
// reads it while running; the control thread reads it only after the worker stopped.
#pragma once

#include <cstdint>

#include "dataplane/policy/compiled_policy.h"
#include "dataplane/reason.h"

namespace sluice {

enum class FlowVerdict : uint8_t {
  pending = 0,     // a TLS/HTTP flow waiting for its ClientHello or request head
  allowed,
  denied_enforced,
  denied_dry_run,  // denied, but its policy is DRY_RUN: it passes
};
inline constexpr int kFlowVerdictCount = 4;

enum class DestinationType : uint8_t { ip = 0, sni, http_host, dns, quic_sni };

// Where a flow is in its life; picks its idle timeout (FlowTimeouts). Non-TCP flows stay `open`.
enum class FlowState : uint8_t {
  open = 0,     // UDP, ICMP and other protocols; TCP picked up without its SYN
  syn_sent,     // TCP: the client's SYN seen, no SYN-ACK yet
  established,  // TCP: the server answered the handshake
  closing,      // TCP: one side sent FIN
  closed,       // TCP: both sides sent FIN, or a RST was seen
};
inline constexpr int kFlowStateCount = 5;

const char* to_string(FlowVerdict verdict);          // "PENDING" | "ALLOW" | "DROP" | "DRY_RUN_DENIAL"
const char* to_string(DestinationType type);         // "IP" | "SNI" | ...
const char* to_string(FlowState state);              // "open" | "syn_sent" | ...

// FlowEntry::created_tick: the TSC at the flow's start, shifted right by kFlowTickShift and cut
// to 24 bits (one tick is 2^30 cycles, 0.25–0.5 s at 2–4 GHz; ages up to 2^54 cycles, 52 days
// at 4 GHz, come out right modulo the wrap). Coarse so that it fits the entry's padding.
inline constexpr int kFlowTickShift = 30;
inline constexpr uint32_t kFlowTickMask = (1u << 24) - 1;
inline uint32_t flow_tick(uint64_t tsc) { return uint32_t(tsc >> kFlowTickShift) & kFlowTickMask; }

// Bits of FlowEntry::tcp_flags_seen.
inline constexpr uint8_t kSeenClientSyn = 0x01;   // client_next_seq is the client's ISN + 1
inline constexpr uint8_t kSeenServerSynAck = 0x02;
inline constexpr uint8_t kSeenClientFin = 0x04;
inline constexpr uint8_t kSeenServerFin = 0x08;

// One cache line, aligned: the burst driver prefetches it (flow_table.h) and a packet's entry
// then costs one line, never two (a 48-byte entry spanned two lines half the time).
// Who writes / reads each group (all on the owning worker):
//  - every packet: the lifecycle stage (stage/flow_lifecycle.cc, admit) writes last_seen_tsc,
//    state, tcp_flags_seen, client_next_seq and reads in_use, initiator_is_a; the burst driver
//    (packet_processor.cc) reads verdict, generation, reason, destination_type, protocol;
//  - at a verdict: the emit stage writes verdict, reason, generation, destination_type,
//    inspection, attachment_index, policy_index; the inspect stage writes reassembly_slot;
//  - at a flow's start: admit writes flow_id, protocol, created_tick, initiator_is_a, in_use;
//  - the aging sweep reads in_use, verdict, state, protocol, last_seen_tsc, created_tick,
//    reassembly_slot.
struct alignas(64) FlowEntry {
  // Hot: read or written by every packet of the flow.
  uint64_t last_seen_tsc = 0;     // the only per-packet write for idle aging
  uint64_t generation = 0;        // the policy generation that judged it
  uint32_t client_next_seq = 0;   // valid with kSeenClientSyn: the sequence of the client's first byte
  bool in_use = false;
  bool initiator_is_a = false;    // which endpoint of the FlowKey opened the flow (the inside host)
  FlowVerdict verdict = FlowVerdict::pending;
  FlowState state = FlowState::open;
  uint8_t tcp_flags_seen = 0;
  uint8_t protocol = 0;           // IP protocol, so that aging needs no read of the key
  Reason reason = Reason::allowed_full_access;
  DestinationType destination_type = DestinationType::ip;
  // Read while a flow is judged, followed, recorded or aged.
  PortClass inspection = PortClass::none;
  uint32_t created_tick : 24 = 0; // flow_tick() of the flow's first packet: the aging sweep's pending age
  int32_t reassembly_slot = -1;   // StreamReassembler slot while a ClientHello/head is incomplete
  uint16_t attachment_index = 0;
  uint16_t policy_index = 0;
  uint64_t flow_id = 0;
};
static_assert(sizeof(FlowEntry) == 64 && alignof(FlowEntry) == 64);

}  // namespace sluice
