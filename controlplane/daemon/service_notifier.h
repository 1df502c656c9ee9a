// What sluiced tells systemd (sd_notify(3)): READY=1 once it serves, STATUS= lines, WATCHDOG=1
// from the control loop, STOPPING=1. Without NOTIFY_SOCKET (not started by a Type=notify unit)
// every call does nothing, so sluiced behaves exactly as it does by hand. Control thread only.
#pragma once

#include <chrono>
#include <string>

namespace sluice {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC from the environment (sd_watchdog_enabled).
  ServiceNotifier();

  bool notifying() const { return notifying_; }
  // The interval systemd expects WATCHDOG=1 within (WatchdogSec=); zero when there is none.
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

  // READY=1 with a STATUS= line; only the first call sends.
  void ready(const std::string& status);
  void status(const std::string& status);
  // Called on every pass of the control loop: sends WATCHDOG=1 once a quarter interval has
  // passed since the last one, so a loop that stops passing is noticed within WatchdogSec.
  void tick();
  void stopping(const std::string& status);

 private:
  void send(const std::string& state);

  bool notifying_ = false;
  bool ready_sent_ = false;
  std::chrono::microseconds watchdog_interval_{0};
  std::chrono::steady_clock::time_point next_watchdog_{};
};

}  // namespace sluice
