#include "controlplane/daemon/worker_set.h"

#include <rte_mbuf.h>
#include <rte_ring.h>

namespace sluice {

namespace {

// Frames in flight between two workers: a few bursts, so that an owner a moment behind loses
// nothing, and a stalled one holds few buffers of the others' pools.
constexpr unsigned kHandoffRingSize = 1024;
constexpr unsigned kTxRingSize = 2048;

}  // namespace

bool WorkerSet::init(uint16_t workers, WorkerRigOptions options, PacketProcessorSetup settings, std::string& error) {
  release();
  if (workers == 0 || workers > kMaxWorkers) {
    error = "between 1 and " + std::to_string(kMaxWorkers) + " workers, not " + std::to_string(workers);
    return false;
  }
  const std::string name = options.name;
  if (workers > 1) {
    answers_ = std::make_unique<RecentAnswerBoard>();
    settings.recent_answers = answers_.get();
  }
  for (uint16_t worker = 0; worker < workers; ++worker) {
    WorkerRigOptions rig_options = options;
    rig_options.name = name + std::to_string(worker);
    // Rig 0 holds what is one for the whole set: the QSBR variable, routed mode's control-frame
    // ring. Each rig has its own neighbour-event ring (routed mode: one producer a ring).
    rig_options.qsbr_threads = worker == 0 ? workers : 0;
    if (worker > 0) rig_options.control_frame_ring_size = 0;
    settings.worker_index = worker;
    auto rig = std::make_unique<WorkerRig>();
    if (!rig->init(rig_options, settings, error)) {
      error = "worker " + std::to_string(worker) + ": " + error;
      return false;
    }
    rigs_.push_back(std::move(rig));
  }
  loops_.resize(workers);
  for (uint16_t worker = 0; worker < workers; ++worker) {
    WorkerLoopSetup& loop = loops_[worker];
    loop.processor = &rigs_[worker]->processor();
    loop.counters = &rigs_[worker]->counters();
    loop.qsbr_thread_id = worker;
    loop.lanes.worker_index = worker;
    loop.lanes.worker_count = workers;
  }
  return true;
}

bool WorkerSet::open_port(const std::string& name, uint16_t& port_id, PortQueues& queues, std::string& error) {
  std::vector<rte_mempool*> pools;
  for (const auto& rig : rigs_) pools.push_back(rig->mbufs());
  return sluice::open_port(name, pools, port_id, queues, error);
}

bool WorkerSet::connect(const uint16_t (&port_ids)[kSideCount], const PortQueues (&queues)[kSideCount],
                        bool routed, std::string& error) {
  const uint16_t workers = size();
  // The NIC places flows only when every port spreads by the same symmetric RSS over one queue
  // a worker; anything else is steered in software, on every port alike (one owner a flow).
  // Routed mode always steers: a server answers the SNAT address, which RSS cannot tie to the
  // client's queue (routed_owner.h).
  bool hardware = workers > 1 && !routed;
  for (const auto& port : queues)
    hardware = hardware && port.rss && port.rx == workers && port.reta_size == queues[0].reta_size;
  steer_ = workers > 1 && !hardware;
  static unsigned set_number = 0;
  const std::string prefix = "ws" + std::to_string(set_number++) + "_";
  rte_ring* tx_rings[kSideCount] = {};
  for (int side = 0; side < kSideCount; ++side) {
    if (queues[side].tx >= workers) continue;
    tx_rings[side] = rte_ring_create((prefix + "tx" + std::to_string(side)).c_str(), kTxRingSize, SOCKET_ID_ANY,
                                     RING_F_SC_DEQ);
    if (!tx_rings[side]) {
      error = "cannot allocate a transmit ring";
      return false;
    }
    rings_.push_back(tx_rings[side]);
  }
  for (uint16_t worker = 0; worker < workers; ++worker) {
    WorkerLoopSetup& loop = loops_[worker];
    loop.ports[0] = port_ids[0];
    loop.ports[1] = port_ids[1];
    loop.lanes.steer = steer_;
    for (int side = 0; side < kSideCount; ++side) {
      loop.lanes.rx_queue[side] = worker < queues[side].rx ? worker : kNoQueue;
      loop.lanes.tx_queue[side] = worker < queues[side].tx ? worker : kNoQueue;
      loop.lanes.tx_ring[side] = tx_rings[side];
      loop.lanes.drains_tx_ring[side] = tx_rings[side] && worker == 0;
    }
  }
  if (!steer_) return true;
  for (uint16_t from = 0; from < workers; ++from) {
    for (uint16_t to = 0; to < workers; ++to) {
      if (from == to) continue;
      rte_ring* ring = rte_ring_create((prefix + "h" + std::to_string(from) + "_" + std::to_string(to)).c_str(),
                                       kHandoffRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!ring) {
        error = "cannot allocate a handoff ring between workers";
        return false;
      }
      rings_.push_back(ring);
      loops_[from].lanes.handoff_out[to] = ring;
      loops_[to].lanes.handoff_in[from] = ring;
    }
  }
  return true;
}

bool WorkerSet::connect_exception_port(std::string& error) {
  if (size() <= 1) return true;  // one worker sends to the tap itself
  static unsigned ring_number = 0;
  rte_ring* ring = rte_ring_create(("wsx" + std::to_string(ring_number++)).c_str(), kTxRingSize, SOCKET_ID_ANY,
                                   RING_F_SC_DEQ);
  if (!ring) {
    error = "cannot allocate the exception port's transmit ring";
    return false;
  }
  rings_.push_back(ring);
  for (auto& loop : loops_) loop.lanes.exception_tx_ring = ring;
  return true;
}

std::vector<const WorkerCounters*> WorkerSet::counters() const {
  std::vector<const WorkerCounters*> all;
  for (const auto& rig : rigs_) all.push_back(&rig->counters());
  return all;
}

std::vector<rte_ring*> WorkerSet::event_rings() const {
  std::vector<rte_ring*> all;
  for (const auto& rig : rigs_) all.push_back(rig->events());
  return all;
}

std::vector<rte_ring*> WorkerSet::learned_rings() const {
  std::vector<rte_ring*> all;
  for (const auto& rig : rigs_)
    if (rig->learned()) all.push_back(rig->learned());
  return all;
}

void WorkerSet::release() {
  for (rte_ring* ring : rings_) {
    rte_mbuf* frame = nullptr;  // frames still in flight go back to their pools, still there
    while (rte_ring_dequeue(ring, reinterpret_cast<void**>(&frame)) == 0) rte_pktmbuf_free(frame);
    rte_ring_free(ring);
  }
  rings_.clear();
  loops_.clear();
  // Every held piece first: a worker may hold frames from another worker's buffers.
  for (auto& rig : rigs_) if (rig) rig->processor().discard_held();
  while (!rigs_.empty()) rigs_.pop_back();
  answers_.reset();
}

}  // namespace sluice
