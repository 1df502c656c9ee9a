// Reading a policy or config file whole, with the operator-facing error when it cannot be read.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "controlplane/policy/policy_error.h"

namespace sluice {

// Appends all of `path` to `contents`. When it cannot be read, adds "<path>:0: cannot read: <strerror>"
// to `errors` and returns false. fread rather than iostreams: errno is what the operator needs
// ("Permission denied"), and streams do not promise to keep it.
inline bool read_file(const std::string& path, std::string& contents, PolicyErrors& errors) {
  const auto refuse = [&] {
    const int error = errno;
    errors.push_back({path, 0, "", std::string("cannot read: ") + std::strerror(error)});
    return false;
  };
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return refuse();
  char buffer[65536];
  size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) contents.append(buffer, count);
  if (std::ferror(file.get())) return refuse();  // a directory opens, then fails here with EISDIR
  return true;
}

}  // namespace sluice
