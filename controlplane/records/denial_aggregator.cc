#include "controlplane/records/denial_aggregator.h"

#include "controlplane/records/json_appender.h"

namespace sluice {

void DenialAggregator::key_of(const FlowEvent& event, std::string_view destination) {
  key_.assign(reinterpret_cast<const char*>(event.src.bytes), sizeof event.src.bytes);
  key_ += destination;
  JsonAppender text(key_);  // decimal numbers, as before (the key's bytes never leave memory)
  text.raw("|").number(uint64_t{event.dst_port});
  text.raw("|").number(int64_t{static_cast<int>(event.reason)});
  text.raw("|").number(int64_t{static_cast<int>(event.verdict)});
  text.raw("|").number(uint64_t{event.protocol});
  text.raw("|").number(uint64_t{event.rule_index});  // two DENY rules are two records
}

bool DenialAggregator::admit(const FlowEvent& event, const RecordNameViews& names, std::string_view destination,
                             uint64_t now_ms) {
  if (window_ms_ == 0) return true;
  key_of(event, destination);
  auto it = windows_.find(key_);
  if (it != windows_.end() && now_ms - it->second.opened_ms < window_ms_) {
    ++it->second.count;
    if (!it->second.repeat) it->second.repeat = std::make_unique<Repeat>();
    it->second.repeat->last = event;
    it->second.repeat->names = names.owned();
    ++suppressed_;
    return false;
  }
  if (it == windows_.end() && windows_.size() >= kMaxOpenWindows) return true;
  Window& window = it != windows_.end() ? it->second : windows_[key_];
  window.opened_ms = now_ms;
  window.count = 0;
  window.repeat.reset();
  return true;
}

std::vector<DenialAggregator::Summary> DenialAggregator::close_windows(uint64_t now_ms, bool flush_all) {
  std::vector<Summary> summaries;
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (flush_all || now_ms - it->second.opened_ms >= window_ms_) {
      if (it->second.count) summaries.push_back({it->second.repeat->last, it->second.repeat->names, it->second.count});
      it = windows_.erase(it);
    } else {
      ++it;
    }
  }
  return summaries;
}

}  // namespace sluice
