#include "controlplane/daemon/service_notifier.h"

#include <cstdlib>

#include <systemd/sd-daemon.h>

namespace sluice {

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  notifying_ = socket && *socket;
  uint64_t usec = 0;
  if (notifying_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_interval_ = std::chrono::microseconds(usec);
}

void ServiceNotifier::send(const std::string& state) {
  // A lost message is harmless (the next STATUS= or WATCHDOG=1 follows): the result is ignored.
  if (notifying_) sd_notify(0, state.c_str());
}

void ServiceNotifier::ready(const std::string& status) {
  if (ready_sent_) return;
  ready_sent_ = true;
  send("READY=1\nSTATUS=" + status);
  next_watchdog_ = std::chrono::steady_clock::now();
}

void ServiceNotifier::status(const std::string& status) { send("STATUS=" + status); }

void ServiceNotifier::tick() {
  if (watchdog_interval_.count() == 0) return;
  auto now = std::chrono::steady_clock::now();
  if (now < next_watchdog_) return;
  send("WATCHDOG=1");
  next_watchdog_ = now + watchdog_interval_ / 4;
}

void ServiceNotifier::stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }

}  // namespace sluice
