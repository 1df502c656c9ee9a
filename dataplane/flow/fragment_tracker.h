// Remembers, for a while, which flow each first IP fragment belonged to, so that the later
// fragments of the same datagram (which carry no ports) follow that flow's verdict.
// A direct-mapped table: a newer datagram may evict an older one; its later fragments are then
// dropped by reason `fragment_without_first`, which is the fail-closed side.
// Worker-private; memory allocated by init() on the control thread.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

class FragmentTracker {
 public:
  // `slots` is rounded up to a power of two.
  void init(uint32_t slots, uint64_t lifetime_cycles);

  // Packet path.
  void remember(const ParsedPacket& first_fragment, int32_t flow_position, uint64_t flow_id, uint64_t now_tsc);
  // True when `later_fragment`'s first fragment was remembered within the lifetime.
  bool find(const ParsedPacket& later_fragment, uint64_t now_tsc, int32_t& flow_position, uint64_t& flow_id) const;

 private:
  struct Slot {
    uint8_t source[16];
    uint8_t destination[16];
    uint32_t fragment_id;
    uint8_t protocol;
    uint8_t family;
    int32_t flow_position;
    uint64_t flow_id;
    uint64_t expires_tsc;  // 0: empty
  };
  size_t index_of(const ParsedPacket& packet) const;
  static bool same_datagram(const Slot& slot, const ParsedPacket& packet);

  std::vector<Slot> slots_;
  uint64_t lifetime_cycles_ = 0;
};

}  // namespace sluice
