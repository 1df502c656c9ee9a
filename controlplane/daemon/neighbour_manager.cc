#include "controlplane/daemon/neighbour_manager.h"

#include <cstring>

#include "dataplane/route/arp.h"
#include "dataplane/route/neighbour_discovery.h"

namespace sluice {

namespace {

bool in_prefix(const IpAddress& address, const IpAddress& prefix, uint8_t length) {
  if (address.family != prefix.family) return false;
  const size_t whole = length / 8;
  if (std::memcmp(address.bytes, prefix.bytes, whole) != 0) return false;
  const unsigned rest = length % 8;
  if (rest == 0) return true;
  const uint8_t mask = uint8_t(0xff << (8 - rest));
  return (address.bytes[whole] & mask) == (prefix.bytes[whole] & mask);
}

}  // namespace

bool NeighbourManager::Key::operator<(const Key& other) const {
  if (side != other.side) return side < other.side;
  if (address.family != other.address.family) return address.family < other.address.family;
  return std::memcmp(address.bytes, other.address.bytes, sizeof address.bytes) < 0;
}

NeighbourManager::NeighbourManager(NeighbourSettings settings, Send send, Publish publish)
    : settings_(std::move(settings)), send_(std::move(send)), publish_(std::move(publish)) {
  if (settings_.max_requests == 0) settings_.max_requests = 1;
  for (const auto& entry : settings_.static_neighbours)
    if (!entry.any_address) ++stats_.static_entries;
}

void NeighbourManager::start(uint64_t /*now_ms*/) {
  table_changed_ = true;
  publish_if_changed();
  for (const NeighbourPort& port : settings_.ports) {
    for (const auto& own : port.addresses) {
      std::vector<uint8_t> frame(own.address.family == 4 ? kArpFrameLength : kNdFrameLength);
      const size_t length = own.address.family == 4
                                ? build_gratuitous_arp(frame, port.mac, own.address)
                                : build_unsolicited_neighbour_advertisement(frame, port.mac, own.address);
      if (length == 0) continue;
      send_(port.side, std::span<const uint8_t>(frame.data(), length));
      ++stats_.announcements_sent;
    }
  }
}

const NeighbourPort* NeighbourManager::port(uint8_t side) const {
  for (const NeighbourPort& port : settings_.ports)
    if (port.side == side) return &port;
  return nullptr;
}

bool NeighbourManager::connected(const NeighbourPort& port, const IpAddress& address) const {
  for (const auto& own : port.addresses)
    if (in_prefix(address, own.address, own.prefix_length)) return true;
  return false;
}

bool NeighbourManager::is_own(const IpAddress& address) const {
  for (const NeighbourPort& port : settings_.ports)
    for (const auto& own : port.addresses)
      if (own.address == address) return true;
  return false;
}

bool NeighbourManager::is_static(uint8_t side, const IpAddress& address) const {
  for (const auto& entry : settings_.static_neighbours) {
    if (entry.side != side || entry.address.family != address.family) continue;
    if (entry.any_address || entry.address == address) return true;
  }
  return false;
}

// Room for one more entry. Entries learned from observations are capped at half the capacity;
// a miss may take the place of the observed entry closest to its refresh.
bool NeighbourManager::make_room(bool from_miss) {
  if (!from_miss && observed_entries_ >= settings_.capacity / 2) return false;
  if (entries_.size() < settings_.capacity) return true;
  if (!from_miss) return false;
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.from_miss) continue;
    if (victim == entries_.end() || it->second.due_ms < victim->second.due_ms) victim = it;
  }
  if (victim == entries_.end()) return false;
  if (victim->second.state != NeighbourState::resolving) table_changed_ = true;
  entries_.erase(victim);
  --observed_entries_;
  return true;
}

// An ARP request or a neighbour solicitation for `key.address`, from the port's own address of
// that family whose connected prefix holds it (else its first one of the family).
void NeighbourManager::send_request(const Key& key) {
  const NeighbourPort* own_port = port(key.side);
  if (own_port == nullptr) return;
  const IpAddress* source = nullptr;
  for (const auto& own : own_port->addresses) {
    if (own.address.family != key.address.family) continue;
    if (source == nullptr || in_prefix(key.address, own.address, own.prefix_length)) source = &own.address;
  }
  if (source == nullptr) return;
  std::vector<uint8_t> frame(key.address.family == 4 ? kArpFrameLength : kNdFrameLength);
  const size_t length = key.address.family == 4
                            ? build_arp_request(frame, own_port->mac, *source, key.address)
                            : build_neighbour_solicitation(frame, own_port->mac, *source, key.address);
  if (length == 0) return;
  send_(key.side, std::span<const uint8_t>(frame.data(), length));
  ++stats_.requests_sent;
}

void NeighbourManager::wanted(uint8_t side, const IpAddress& address, uint64_t now_ms) {
  const NeighbourPort* own_port = port(side);
  if (own_port == nullptr || is_static(side, address) || is_own(address)) return;
  const Key key{side, address};
  if (entries_.count(key) != 0) return;  // resolving (retries are tick's) or already resolved
  // Connected means an own address of the family on this port: a request always has a source.
  if (!connected(*own_port, address)) {
    ++stats_.refused_not_connected;
    return;
  }
  if (!make_room(true)) {
    ++stats_.refused_full;
    return;
  }
  Entry& entry = entries_[key];
  entry.state = NeighbourState::resolving;
  entry.from_miss = true;
  entry.requests = 1;
  entry.due_ms = now_ms + settings_.retry_ms;
  send_request(key);
  count_states();
  publish_if_changed();
}

void NeighbourManager::observed(uint8_t side, const IpAddress& address, const MacAddress& mac, uint64_t now_ms) {
  const NeighbourPort* own_port = port(side);
  if (own_port == nullptr || mac.is_zero() || mac.is_multicast()) return;
  if (is_own(address) || (is_static(side, address))) {
    ++stats_.ignored_static;
    return;
  }
  const Key key{side, address};
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (!connected(*own_port, address)) {
      ++stats_.refused_not_connected;
      return;
    }
    if (!make_room(false)) {
      ++stats_.refused_full;
      return;
    }
    it = entries_.emplace(key, Entry{}).first;
    it->second.from_miss = false;
    ++observed_entries_;
    table_changed_ = true;
  } else if (it->second.state == NeighbourState::resolving) {
    ++stats_.resolved;
    table_changed_ = true;
  } else if (!(it->second.mac == mac)) {
    ++stats_.mac_changes;
    table_changed_ = true;
  }
  Entry& entry = it->second;
  entry.state = NeighbourState::reachable;
  entry.mac = mac;
  entry.requests = 0;
  entry.due_ms = now_ms + settings_.reachable_ms;
  count_states();
  publish_if_changed();
}

void NeighbourManager::tick(uint64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = it->second;
    if (entry.due_ms > now_ms) {
      ++it;
      continue;
    }
    if (entry.state == NeighbourState::reachable) {
      entry.state = NeighbourState::refreshing;
      entry.requests = 0;
    }
    if (entry.requests >= settings_.max_requests) {
      if (entry.state == NeighbourState::resolving) {
        ++stats_.failed;
      } else {
        ++stats_.expired;
        table_changed_ = true;
      }
      if (!entry.from_miss) --observed_entries_;
      it = entries_.erase(it);
      continue;
    }
    ++entry.requests;
    entry.due_ms = now_ms + settings_.retry_ms;
    send_request(it->first);
    ++it;
  }
  count_states();
  publish_if_changed();
}

NeighbourState NeighbourManager::state(uint8_t side, const IpAddress& address) const {
  auto it = entries_.find(Key{side, address});
  return it == entries_.end() ? NeighbourState::absent : it->second.state;
}

void NeighbourManager::count_states() {
  uint64_t resolving = 0, reachable = 0, refreshing = 0;
  for (const auto& [key, entry] : entries_) {
    switch (entry.state) {
      case NeighbourState::resolving: ++resolving; break;
      case NeighbourState::reachable: ++reachable; break;
      case NeighbourState::refreshing: ++refreshing; break;
      case NeighbourState::absent: break;
    }
  }
  stats_.resolving = resolving;
  stats_.reachable = reachable;
  stats_.refreshing = refreshing;
}

void NeighbourManager::publish_if_changed() {
  if (!table_changed_) return;
  table_changed_ = false;
  auto table = std::make_unique<NeighbourTable>();
  for (const auto& entry : settings_.static_neighbours) {
    if (entry.any_address)
      table->set_fallback(entry.side, entry.address.family, entry.mac);
    else
      table->add(entry.side, entry.address, entry.mac);
  }
  for (const auto& [key, entry] : entries_)
    if (entry.state != NeighbourState::resolving) table->add(key.side, key.address, entry.mac);
  table->seal();
  ++stats_.tables_published;
  publish_(std::move(table));
}

}  // namespace sluice
