// Keeps a scanning or retrying workload from flooding the denial log: the first denial of a
// (source, destination, reason) is written at once; more of the same within the window are
// only counted, and when the window closes one record stands for them all with its `count`.
// Control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "controlplane/records/flow_event_json.h"
#include "dataplane/worker/flow_event.h"

namespace sluice {

class DenialAggregator {
 public:
  static constexpr size_t kMaxOpenWindows = 65536;  // past this, denials are written one by one

  explicit DenialAggregator(uint64_t window_ms) : window_ms_(window_ms) {}

  // True: write this denial now (a record of count 1). False: counted into an open window.
  // The names are copied only when the denial is a repeat (its record is written later, maybe
  // after the generation that named it is gone).
  bool admit(const FlowEvent& event, const RecordNameViews& names, std::string_view destination, uint64_t now_ms);

  struct Summary {
    FlowEvent last;      // the latest denial the window counted
    RecordNames names;
    uint64_t count = 0;  // denials it stands for (beyond the first, which was written at once)
  };
  // Closes the windows older than the window length; returns one summary per window that
  // counted more denials. `flush_all` closes every window (at shutdown).
  std::vector<Summary> close_windows(uint64_t now_ms, bool flush_all = false);

  uint64_t suppressed() const { return suppressed_; }

 private:
  struct Repeat {
    FlowEvent last;
    RecordNames names;
  };
  struct Window {
    uint64_t opened_ms = 0;
    uint64_t count = 0;
    // Only once the window counts a repeat: a scan of distinct destinations (each denied
    // once) opens many windows, and a FlowEvent is ~400 bytes.
    std::unique_ptr<Repeat> repeat;
  };
  // The window's key into key_ (a buffer kept across calls: no allocation per denial).
  void key_of(const FlowEvent& event, std::string_view destination);

  uint64_t window_ms_;
  std::unordered_map<std::string, Window> windows_;
  std::string key_;
  uint64_t suppressed_ = 0;
};

}  // namespace sluice
