#include "controlplane/daemon/routed_neighbours.h"

#include <rte_mbuf.h>

#include <cstring>

#include "controlplane/daemon/neighbour_settings.h"

namespace sluice {

RoutedNeighbours::RoutedNeighbours(RoutedMode& routed, WorkerShared& shared, const config::ApplianceConfig& config)
    : routed_(routed), shared_(shared) {
  manager_ = std::make_unique<NeighbourManager>(
      neighbour_settings(routed.tables(), config),
      [this](uint8_t port, std::span<const uint8_t> frame) { send(port, frame); },
      [this](std::unique_ptr<NeighbourTable> table) {
        publish_neighbour_table(shared_.neighbours, std::move(table), qsbr_);
      });
  routed_.set_event_handler([this](const NeighbourEvent& event) {
    if (event.kind == NeighbourEventKind::wanted)
      manager_->wanted(event.port, event.address, now_ms());
    else
      manager_->observed(event.port, event.address, event.mac, now_ms());
  });
}

void RoutedNeighbours::start() {
  const uint64_t now = now_ms();
  manager_->start(now);
  // The routes' next hops are resolved before traffic needs them, so that a flow's first packet
  // is not dropped neighbour_unresolved while its gateway's ARP/ND answer is on its way (a UDP
  // query is not retransmitted by the stack the way a SYN is).
  for (const RouteEntry& route : routed_.tables().routes())
    if (!route.connected) manager_->wanted(route.port, route.via, now);
}

uint64_t RoutedNeighbours::now_ms() const {
  return uint64_t(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - origin_).count());
}

void RoutedNeighbours::send(uint8_t port, std::span<const uint8_t> frame) {
  rte_mbuf* mbuf = routed_.buffers() ? rte_pktmbuf_alloc(routed_.buffers()) : nullptr;
  char* data = mbuf ? rte_pktmbuf_append(mbuf, uint16_t(frame.size())) : nullptr;
  if (data == nullptr) {
    if (mbuf) rte_pktmbuf_free(mbuf);
    ++frames_not_sent_;
    return;
  }
  std::memcpy(data, frame.data(), frame.size());
  if (!send_control_frame(routed_.control_frames(), mbuf, port)) {
    rte_pktmbuf_free(mbuf);
    ++frames_not_sent_;
  }
}

}  // namespace sluice
