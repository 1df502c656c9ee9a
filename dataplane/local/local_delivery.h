// What a worker does with a packet for one of the appliance's own addresses (routed mode):
// the health probe is answered by the worker itself while the appliance is ready, the kernel
// services of routing.exception_port go to the host's kernel through the tap, and everything
// else is dropped. Pure: no DPDK, no allocation; the worker acts on the answer.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/local/kernel_service_filter.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

enum class LocalAction : uint8_t {
  probe_syn_ack,     // answer with build_tcp_syn_ack (ready, an opening SYN to the probe port)
  probe_reset,       // answer with build_tcp_reset: the prober sent data or FIN, nothing reads it
  probe_consumed,    // the probe's handshake ACK or its reset: nothing to answer (health_probe_segment)
  probe_not_ready,   // drop: not ready, the balancer must see the probe fail (health_probe_not_ready)
  to_kernel,         // send out of the exception port
  not_allowed,       // drop (local_not_allowed)
};

struct LocalDeliveryRules {
  uint16_t probe_port = 0;                        // routing.health_probe.tcp_port; 0: no probe
  const KernelServiceFilter* kernel = nullptr;    // null: no exception port
};

// What the worker's local-delivery hook (dataplane/worker/stage/local_delivery.h) is given at
// start, through the router's setup. Read-only for the worker.
struct LocalDeliverySetup {
  uint16_t probe_port = 0;                      // routing.health_probe.tcp_port; 0: no probe
  const KernelServiceFilter* kernel = nullptr;  // null: no exception port
  uint8_t exception_port = 0xff;                // the tap's routed port index; 0xff (kNoPort): none
  // Control thread: writes (relaxed) every loop iteration, true while a policy is loaded, every
  // worker polls and the appliance is not drained (WorkerShared::ready). Workers: read
  // (relaxed) for each probe.
  const std::atomic<bool>* ready = nullptr;
};

// `ready`: the control thread's readiness flag (a policy loaded, every worker polling, not
// drained), as the worker read it this burst.
LocalAction decide_local(const ParsedPacket& packet, const LocalDeliveryRules& rules, bool ready);

}  // namespace sluice
