// A fixed pool of QUIC CRYPTO stream buffers, one per QUIC flow whose ClientHello is still being
// read (the QUIC counterpart of the TCP StreamReassembler's slots). Allocated once at set-up;
// acquire and release on the packet path only move an index on a free list made at set-up.
// Worker-private: one pool a worker.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/quic/quic_crypto_stream.h"
#include "dataplane/quic/quic_packet_header.h"

namespace sluice {

struct QuicSlot {
  QuicCryptoStream stream;
  // The DCID every client Initial of the flow must carry: the first Initial's, or the Source
  // Connection ID of a server's Retry (RFC 9000 7.2, 17.2.5). Length 0: the next Initial sets it
  // (and must bring at least 8 bytes; a Retry's may be shorter).
  std::array<uint8_t, kQuicMaxConnectionIdLength> dcid{};
  uint8_t dcid_length = 0;
  // Of the attempt's first Initial: the client's version and its own connection ID, which a
  // server's Retry or Version Negotiation must name (RFC 9000 17.2.1, 17.2.5).
  uint32_t version = 0;
  std::array<uint8_t, kQuicMaxConnectionIdLength> scid{};
  uint8_t scid_length = 0;
  // The server answered this attempt with an Initial, a Handshake or a Retry: a later Retry or
  // Version Negotiation is one the client discards (RFC 9000 6.2, 17.2.5.2), so the flow ignores it.
  bool server_answered = false;
  // A Version Negotiation was acted on: the client discards any later one (RFC 9000 6.2).
  bool negotiated = false;

  // A new connection attempt on the same flow (after a Retry or Version Negotiation).
  void restart() {
    stream.reset();
    dcid_length = 0;
    version = 0;
    scid_length = 0;
    server_answered = false;
  }
};

class QuicSlots {
 public:
  // `count` slots of `capacity` stream bytes each (control side, at start).
  void init(uint32_t count, uint32_t capacity) {
    const size_t present = QuicCryptoStream::present_bytes_for(capacity);
    const size_t stride = capacity + present;
    memory_.reset(new uint8_t[stride * count]);
    slots_.reserve(count);
    free_.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      uint8_t* base = memory_.get() + stride * i;
      slots_.push_back(QuicSlot{QuicCryptoStream({base, capacity}, {base + capacity, present})});
    }
    for (uint32_t i = count; i > 0; --i) free_.push_back(int32_t(i - 1));
  }

  // A cleared slot, or -1 when every slot is in use.
  int32_t acquire() {
    if (free_.empty()) return -1;
    const int32_t index = free_.back();
    free_.pop_back();  // capacity reserved at init: no allocation
    slots_[size_t(index)].restart();
    slots_[size_t(index)].negotiated = false;
    return index;
  }

  void release(int32_t index) { free_.push_back(index); }

  QuicSlot& slot(int32_t index) { return slots_[size_t(index)]; }
  uint32_t in_use() const { return uint32_t(slots_.size() - free_.size()); }

 private:
  std::unique_ptr<uint8_t[]> memory_;
  std::vector<QuicSlot> slots_;
  std::vector<int32_t> free_;  // capacity of every slot, so release never allocates
};

}  // namespace sluice
