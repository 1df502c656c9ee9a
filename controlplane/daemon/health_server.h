// /healthz and /readyz for load-balancer probes, on their own small HTTP listener: the metrics
// library's server answers 200 to every registered path, but a probe needs a 503 when the
// appliance is not ready. Runs on its own thread; reads only atomics. Clients are served side by
// side without blocking calls, so a silent connection delays no probe (it is answered 404 and
// closed after 1 s).
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace sluice {

class HealthServer {
 public:
  ~HealthServer();
  // `ready` and `draining` are read on every /readyz request: 200 only when ready and not
  // draining. "HOST:PORT" or "[v6]:PORT".
  bool start(const std::string& address, const std::atomic<bool>& ready, const std::atomic<bool>& draining,
             std::string& error);
  void stop();

 private:
  void serve();
  int fd_ = -1;
  const std::atomic<bool>* ready_ = nullptr;
  const std::atomic<bool>* draining_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sluice
