// Learned addresses kept across a restart. A client that resolved a name just before sluiced
// restarted still holds the answer; without the table it would be denied name_address_mismatch
// until it asked again (up to the answer's TTL). The control thread hands a snapshot of its
// LearnedAddressStore to a writer thread, which writes the state file off the packet path and off
// the control thread (which never waits on the disk); sluiced reads the file once at start.
//
// The file is text, one entry a line, expiry in wall-clock seconds (the TSC does not survive a
// restart):
//   sluice-learned-addresses 1
//   POLICY ADDRESS NAME EXPIRES_UNIX_SECONDS
//   end COUNT
// A file without its `end` line (torn by a crash) or with a bad line is refused whole: a clear
// error, an empty table.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/policy/learned_address_store.h"

namespace sluice {

struct LearnedStateEntry {
  std::string policy;   // the policy's name (slots are numbered anew by each process)
  IpAddress address;
  std::string name;
  int64_t expires_unix = 0;
};

// Control thread: the store's live entries with their expiry on the wall clock.
// `slot_names[slot]` names each policy slot.
std::vector<LearnedStateEntry> learned_state_snapshot(const LearnedAddressStore& store,
                                                      const std::vector<std::string>& slot_names, uint64_t now_tsc,
                                                      uint64_t tsc_hz, int64_t now_unix);

std::string format_learned_state(const std::vector<LearnedStateEntry>& entries);
// False, with `error` naming the line, when `text` is not a whole, well-formed state file.
bool parse_learned_state(const std::string& text, std::vector<LearnedStateEntry>& entries, std::string& error);

struct LearnedStateLoad {
  size_t loaded = 0;    // entries in the store now
  size_t expired = 0;   // their time ran out while sluiced was down
  size_t unknown_policy = 0;  // for a policy the running set no longer has
};

// At start, before the workers run: reads `path` into `store` with the remaining TTL measured by
// the wall clock. A missing file is an empty table (first start); an unreadable, corrupt or torn
// one too, with `error` set. `slot_of` maps a policy name to its slot, or -1 when unknown.
bool load_learned_state(const std::string& path, const std::function<int(const std::string&)>& slot_of, LearnedAddressStore& store, uint64_t now_tsc,
                        uint64_t tsc_hz, int64_t now_unix, LearnedStateLoad& result, std::string& error);

// Writes state files on its own thread: offer() hands over the newest snapshot (only a pointer
// swap under a lock the writer holds just as briefly) and returns; the writer writes it to
// PATH.tmp, fsyncs and renames it over PATH, so a reader sees the old file or the new one.
class LearnedStateWriter {
 public:
  explicit LearnedStateWriter(std::string path);
  ~LearnedStateWriter();  // writes what was offered last, then stops
  LearnedStateWriter(const LearnedStateWriter&) = delete;
  LearnedStateWriter& operator=(const LearnedStateWriter&) = delete;

  void offer(std::vector<LearnedStateEntry> entries);
  // The last write's error ("" when it succeeded); read by the control thread to log it once.
  std::string take_error();
  uint64_t writes() const;

 private:
  void run();
  bool write(const std::string& text, std::string& error) const;

  std::string path_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::unique_ptr<std::vector<LearnedStateEntry>> pending_;  // guarded by mutex_
  std::string error_;                                        // guarded by mutex_
  uint64_t writes_ = 0;                                      // guarded by mutex_
  bool stop_ = false;                                        // guarded by mutex_
  std::thread thread_;
};

}  // namespace sluice
