// Busy jiffies of the whole machine and of this process (from /proc), read before and after a
// run to tell how much else ran meanwhile: a figure measured beside another job says less.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace sluice::bench {

struct CpuTimes {
  uint64_t machine = 0, self = 0;
};

inline CpuTimes cpu_times() {
  CpuTimes times;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  times.machine = user + nice + system + irq + softirq + steal;
  std::ifstream self("/proc/self/stat");
  std::string field;
  for (int i = 1; i <= 15 && self >> field; ++i)
    if (i == 14 || i == 15) times.self += std::stoull(field);  // utime, stime
  return times;
}

}  // namespace sluice::bench
