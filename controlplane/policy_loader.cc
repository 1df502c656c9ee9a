#include "controlplane/policy_loader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "controlplane/policy_validator.h"

namespace sluice {

namespace {

enum class PolicyFormat { text, binary, unknown };

PolicyFormat format_of(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".textproto" || extension == ".txtpb" || extension == ".pbtxt") return PolicyFormat::text;
  if (extension == ".pb" || extension == ".binpb") return PolicyFormat::binary;
  return PolicyFormat::unknown;
}

// fread rather than iostreams: errno is what the operator needs ("Permission denied"), and
// streams do not promise to keep it.
bool read_whole_file(const std::string& path, std::string& contents, std::string& problem) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    problem = std::strerror(errno);
    return false;
  }
  char buffer[65536];
  size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) contents.append(buffer, count);
  if (std::ferror(file.get())) {
    problem = std::strerror(errno);  // a directory opens, then fails here with EISDIR
    return false;
  }
  return true;
}

}  // namespace

LoadedPolicy load_policy_text(const std::string& text, const std::string& display_name,
                              const PublicSuffixList& suffixes) {
  LoadedPolicy result;
  FieldLocator locator;
  if (!locator.parse_text(text, display_name, result.policy_set, result.errors)) return result;
  result.errors = validate_policy_set(result.policy_set, display_name, locator, suffixes);
  return result;
}

LoadedPolicy load_policy_file(const std::string& path, const PublicSuffixList& suffixes) {
  const PolicyFormat format = format_of(path);
  if (format == PolicyFormat::unknown) {
    LoadedPolicy result;
    result.errors.push_back({path, 0, "",
                             "unknown file extension; expected .textproto, .txtpb or .pbtxt (text) "
                             "or .pb or .binpb (binary)"});
    return result;
  }

  std::string contents;
  std::string problem;
  if (!read_whole_file(path, contents, problem)) {
    LoadedPolicy result;
    result.errors.push_back({path, 0, "", "cannot read: " + problem});
    return result;
  }
  if (format == PolicyFormat::text) return load_policy_text(contents, path, suffixes);

  LoadedPolicy result;
  if (!result.policy_set.ParseFromString(contents)) {
    result.errors.push_back({path, 0, "", "not a binary sluice.policy.PolicySet (wire format error)"});
    return result;
  }
  result.errors = validate_policy_set(result.policy_set, path, FieldLocator(), suffixes);
  return result;
}

}  // namespace sluice
