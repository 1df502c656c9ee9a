#include "controlplane/records/denial_aggregator.h"

namespace sluice {

std::string DenialAggregator::key_of(const FlowEvent& event, const std::string& destination) {
  std::string key(reinterpret_cast<const char*>(event.src.bytes), sizeof event.src.bytes);
  key += destination;
  key += '|';
  key += std::to_string(event.dst_port);
  key += '|';
  key += std::to_string(static_cast<int>(event.reason));
  key += '|';
  key += std::to_string(static_cast<int>(event.verdict));
  key += '|';
  key += std::to_string(event.protocol);
  key += '|';
  key += std::to_string(event.rule_index);  // two DENY rules are two records
  return key;
}

bool DenialAggregator::admit(const FlowEvent& event, const RecordNames& names, const std::string& destination,
                             uint64_t now_ms) {
  if (window_ms_ == 0) return true;
  std::string key = key_of(event, destination);
  auto it = windows_.find(key);
  if (it != windows_.end() && now_ms - it->second.opened_ms < window_ms_) {
    ++it->second.count;
    if (!it->second.repeat) it->second.repeat = std::make_unique<Repeat>();
    it->second.repeat->last = event;
    it->second.repeat->names = names;
    ++suppressed_;
    return false;
  }
  if (it == windows_.end() && windows_.size() >= kMaxOpenWindows) return true;
  Window& window = windows_[key];
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
