// Policy reloads that never stall the control thread. Loading, validating and compiling run on
// a compile thread of their own (a 100,000-name policy compiles for seconds, a pathological one
// for minutes, and Hyperscan cannot be interrupted); the control loop keeps draining the rings,
// answering the admin socket and watching for signals, and calls poll() to publish a finished
// compile itself (the atomic store, the RCU wait, draining the old generation's events, then
// releasing it). SIGHUP, the policy-file watch and `sluicectl reload` all come through request().
//
// A request while a compile runs supersedes it: the running compile's result will be discarded
// (its waiters are told so at once) and the newest request compiles the file as it is then, on
// a new thread, beside the abandoned one, which runs to its end because Hyperscan cannot be
// interrupted. At most kMaxAbandoned abandoned compiles run at once; a request past that waits
// (merged with any other waiting one) until one ends. So at most two compiles, the running
// generation and, for a moment after a publish, the previous one are ever held in memory (an
// IPv4 LPM table is 64 MiB of DPDK memory; a compile allocates its tables at its end).
//
// Control thread only; the compile thread touches nothing here but its own CompileJob.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/daemon/policy_publisher.h"

namespace sluice {

class ReloadCoordinator {
 public:
  // Takes the answer "ok\n<generation …>" or "error\n<why>"; called once, on the control thread.
  using Reply = std::function<void(const std::string& answer)>;

  // `drain_events` is called after a publish, before the previous generation is released: the
  // events it produced must be formatted with it. `log` gets one line per reload outcome.
  ReloadCoordinator(PolicyPublisher& publisher, std::function<void()> drain_events, std::ostream& log);
  // Joins compile threads that have finished; ones still running must have been let go by
  // leave_running_compile() first.
  ~ReloadCoordinator();

  // `trigger` names the cause in the log ("SIGHUP", "sluicectl reload", ...). Never blocks.
  void request(const std::string& trigger, Reply reply = nullptr);
  // Publishes (or refuses, or discards) a finished compile and starts a waiting request. Never
  // blocks longer than the RCU wait of a publish.
  void poll();

  static constexpr size_t kMaxAbandoned = 1;

  bool compiling() const { return running_ != nullptr; }
  size_t abandoned() const { return abandoned_.size(); }
  uint64_t superseded() const { return superseded_; }

  // At stop. True when a compile thread is still running: it is detached and keeps its job, and
  // the process must end without running static destructors or freeing DPDK memory under it
  // (end_process_beside_compile). Waiters are answered that the daemon stops.
  bool leave_running_compile();

 private:
  struct CompileJob {
    std::string trigger;
    std::vector<Reply> replies;     // control thread
    bool superseded = false;        // control thread
    PreparedPolicy result;          // compile thread, until `done`; then control thread
    std::atomic<bool> done{false};  // compile thread: set last; control thread: reads
    std::thread thread;
  };
  struct Waiting {
    std::string trigger;
    std::vector<Reply> replies;
  };

  void start_waiting();
  void finish(CompileJob& job);
  static void answer(std::vector<Reply>& replies, const std::string& text);

  PolicyPublisher& publisher_;
  std::function<void()> drain_events_;
  std::ostream& log_;
  std::unique_ptr<CompileJob> running_;                 // the newest compile; null: none
  std::vector<std::unique_ptr<CompileJob>> abandoned_;  // superseded, still running
  std::optional<Waiting> waiting_;
  uint64_t superseded_ = 0;
};

// Ends the process with `code` while a compile thread still runs (see leave_running_compile):
// flushes `out` and `err`, closes the ports (so that pcap ports flush what they wrote) and calls
// _Exit, skipping EAL cleanup and static destructors, which the compile thread may still use.
[[noreturn]] void end_process_beside_compile(int code, std::ostream& out, std::ostream& err);

}  // namespace sluice
