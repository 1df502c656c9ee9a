#include "controlplane/daemon/reload_coordinator.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include <rte_ethdev.h>

#include "dataplane/port/ports.h"

namespace sluice {

namespace {
constexpr int kCompileNice = 10;
}  // namespace

ReloadCoordinator::ReloadCoordinator(PolicyPublisher& publisher, std::function<void()> drain_events, std::ostream& log)
    : publisher_(publisher), drain_events_(std::move(drain_events)), log_(log) {}

ReloadCoordinator::~ReloadCoordinator() {
  if (running_ && running_->thread.joinable()) running_->thread.join();
  for (auto& job : abandoned_)
    if (job->thread.joinable()) job->thread.join();
}

void ReloadCoordinator::answer(std::vector<Reply>& replies, const std::string& text) {
  for (auto& reply : replies)
    if (reply) reply(text);
  replies.clear();
}

void ReloadCoordinator::request(const std::string& trigger, Reply reply) {
  if (running_) {
    ++superseded_;
    running_->superseded = true;
    log_ << "sluiced: reload (" << running_->trigger << ") superseded by a newer request (" << trigger
         << "); its compile is left to finish and its result will be discarded" << std::endl;
    answer(running_->replies, "error\nsuperseded: a newer reload request (" + trigger +
                                  ") came before this compile finished; the newer one applies the policy file as it is "
                                  "now\n");
    abandoned_.push_back(std::move(running_));
  }
  if (!waiting_) waiting_.emplace();
  waiting_->trigger = trigger;  // the newest cause names a merged request
  if (reply) waiting_->replies.push_back(std::move(reply));
  start_waiting();
}

void ReloadCoordinator::start_waiting() {
  if (running_ || !waiting_ || abandoned_.size() > kMaxAbandoned) return;
  running_ = std::make_unique<CompileJob>();
  running_->trigger = std::move(waiting_->trigger);
  running_->replies = std::move(waiting_->replies);
  waiting_.reset();
  CompileJob* job = running_.get();
  const PolicyPublisher* publisher = &publisher_;
  job->thread = std::thread([job, publisher] {
    // Below the control thread: on a busy machine the scheduler gives the control loop (rings,
    // admin clients, signals) its slices first; the compile takes whatever is left.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kCompileNice);
    try {
      job->result = publisher->prepare();
    } catch (const std::exception& e) {  // e.g. bad_alloc: refused like any failed compile
      job->result = PreparedPolicy{};
      job->result.errors = publisher->path() + ": compile failed: " + e.what() + "\n";
    }
    job->done.store(true, std::memory_order_release);  // the job is the control thread's from here
  });
}

void ReloadCoordinator::poll() {
  // Finished jobs are joined (at once: their thread has ended) and freed here, on the control
  // thread, discarded policies and their DPDK tables with them.
  for (auto it = abandoned_.begin(); it != abandoned_.end();) {
    if (!(*it)->done.load(std::memory_order_acquire)) {
      ++it;
      continue;
    }
    (*it)->thread.join();
    finish(**it);
    it = abandoned_.erase(it);
  }
  if (running_ && running_->done.load(std::memory_order_acquire)) {
    running_->thread.join();
    auto job = std::move(running_);
    finish(*job);
  }
  start_waiting();
}

void ReloadCoordinator::finish(CompileJob& job) {
  if (job.superseded) {
    publisher_.discard(std::move(job.result));
    log_ << "sluiced: reload (" << job.trigger << "): superseded compile finished; result discarded" << std::endl;
    return;
  }
  std::string message;
  if (publisher_.publish(std::move(job.result), message)) {
    // Events the old generation produced are on the ring now; format them with it, then let it go.
    drain_events_();
    publisher_.release_previous();
    log_ << "sluiced: reload (" << job.trigger << "): " << message << std::endl;
    answer(job.replies, "ok\n" + message);
    return;
  }
  log_ << "sluiced: reload (" << job.trigger << ") refused; generation " << publisher_.current()->generation
       << " keeps running:\n"
       << message << std::flush;
  answer(job.replies, "error\n" + message);
}

bool ReloadCoordinator::leave_running_compile() {
  const std::string stopping = "error\nsluiced is stopping; the policy was not reloaded\n";
  if (waiting_) answer(waiting_->replies, stopping);
  waiting_.reset();
  if (running_) {
    answer(running_->replies, stopping);
    abandoned_.push_back(std::move(running_));
  }
  bool left = false;
  for (auto& job : abandoned_) {
    if (job->done.load(std::memory_order_acquire)) {
      job->thread.join();
      continue;
    }
    log_ << "sluiced: stopping while the compile of reload (" << job->trigger << ") still runs; it is abandoned"
         << std::endl;
    job->thread.detach();
    (void)job.release();  // the detached thread still writes into its job
    left = true;
  }
  abandoned_.clear();
  return left;
}

void end_process_beside_compile(int code, std::ostream& out, std::ostream& err) {
  out.flush();
  err.flush();
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) close_port(port);
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace sluice
