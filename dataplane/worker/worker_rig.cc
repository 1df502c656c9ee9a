#include "dataplane/worker/worker_rig.h"

#include <atomic>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/policy/learned_addresses.h"
#include "dataplane/route/neighbour_event.h"
#include "dataplane/worker/flow_event.h"

namespace sluice {

namespace {

// Numbers rigs and workers, so that their DPDK object names never collide within a process.
std::atomic<unsigned> g_rig_number{0};

}  // namespace

bool WorkerRig::init(const WorkerRigOptions& options, const PacketProcessorSetup& settings, std::string& error) {
  release();
  options_ = options;
  prefix_ = options.name + std::to_string(g_rig_number++);
  // Every ring has one producer (the worker) and one consumer (the control thread).
  constexpr unsigned kFlags = RING_F_SP_ENQ | RING_F_SC_DEQ;
  uint16_t data_room = options.mbuf_data_room ? options.mbuf_data_room : uint16_t(RTE_MBUF_DEFAULT_BUF_SIZE);
  mbufs_ = rte_pktmbuf_pool_create((prefix_ + "_mb").c_str(), options.mbuf_count, options.mbuf_cache, 0, data_room,
                                   options.socket);
  if (!mbufs_) {
    error = "cannot allocate " + std::to_string(options.mbuf_count) +
            " packet buffers (raise the EAL memory, -m, or lower mbuf_count)";
    return false;
  }
  events_ = rte_ring_create_elem((prefix_ + "_ev").c_str(), sizeof(FlowEvent), options.event_ring_size,
                                 options.socket, kFlags);
  if (options.learned_ring_size)
    learned_ = rte_ring_create_elem((prefix_ + "_ln").c_str(), sizeof(LearnedAddressEvent),
                                    options.learned_ring_size, options.socket, kFlags);
  if (!events_ || (options.learned_ring_size && !learned_)) {
    error = "cannot allocate the event rings";
    return false;
  }
  if (options.neighbour_ring_size) {
    neighbour_events_ = rte_ring_create_elem((prefix_ + "_nb").c_str(), sizeof(NeighbourEvent),
                                             options.neighbour_ring_size, options.socket, kFlags);
    // The control-frame ring: one for the set (worker 0 takes control frames; its size is 0 for the others).
    if (options.control_frame_ring_size)
      control_frames_ = rte_ring_create((prefix_ + "_cf").c_str(), options.control_frame_ring_size, options.socket, kFlags);
    if (!neighbour_events_ || (options.control_frame_ring_size && !control_frames_)) {
      error = "cannot allocate the routed-mode rings";
      return false;
    }
  }
  if (options.qsbr_threads) {
    size_t size = rte_rcu_qsbr_get_memsize(options.qsbr_threads);
    qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc((prefix_ + "_qs").c_str(), size, RTE_CACHE_LINE_SIZE));
    if (!qsbr_ || rte_rcu_qsbr_init(qsbr_, options.qsbr_threads) != 0) {
      error = "cannot allocate the quiescent-state variable";
      return false;
    }
  }
  if (!options.flow_capacity) return true;
  worker_ = std::make_unique<RigWorker>();
  return make_worker(*worker_, options.flow_capacity, settings, error);
}

bool WorkerRig::make_worker(RigWorker& worker, uint32_t flow_capacity, PacketProcessorSetup settings,
                            std::string& error) const {
  if (learned_ && !settings.learned_table) {
    error = "a learned-address ring needs the table the control thread publishes";
    return false;
  }
  std::string name = prefix_ + "_fl" + std::to_string(g_rig_number++);
  if (!worker.flows.init(name, flow_capacity, options_.flow_socket, error)) return false;
  worker.counters = std::make_unique<WorkerCounters>();
  settings.flows = &worker.flows;
  settings.events = events_;
  settings.reply_pool = mbufs_;
  settings.counters = worker.counters.get();
  settings.learned = learned_;
  worker.processor = std::make_unique<PacketProcessor>(settings);
  return true;
}

void WorkerRig::release() {
  if (worker_ && worker_->processor) worker_->processor->discard_held();  // into mbufs_, still there
  worker_.reset();
  if (qsbr_) rte_free(qsbr_);
  if (control_frames_) {
    rte_mbuf* frame = nullptr;  // frames the worker never sent go back to their pool
    while (rte_ring_dequeue(control_frames_, reinterpret_cast<void**>(&frame)) == 0) rte_pktmbuf_free(frame);
    rte_ring_free(control_frames_);
  }
  if (neighbour_events_) rte_ring_free(neighbour_events_);
  neighbour_events_ = control_frames_ = nullptr;
  if (learned_) rte_ring_free(learned_);
  if (events_) rte_ring_free(events_);
  if (mbufs_) rte_mempool_free(mbufs_);
  qsbr_ = nullptr;
  learned_ = events_ = nullptr;
  mbufs_ = nullptr;
}

}  // namespace sluice
