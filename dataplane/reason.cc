#include "dataplane/reason.h"

namespace sluice {

namespace {
constexpr const char* kNames[] = {
#define SLUICE_REASON_NAME(name, text) #name,
    SLUICE_REASONS(SLUICE_REASON_NAME)
#undef SLUICE_REASON_NAME
};
constexpr const char* kDescriptions[] = {
#define SLUICE_REASON_TEXT(name, text) text,
    SLUICE_REASONS(SLUICE_REASON_TEXT)
#undef SLUICE_REASON_TEXT
};
}  // namespace

const char* to_string(Reason reason) {
  auto index = static_cast<int>(reason);
  return index < kReasonCount ? kNames[index] : "unknown";
}

const char* describe(Reason reason) {
  auto index = static_cast<int>(reason);
  return index < kReasonCount ? kDescriptions[index] : "unknown";
}

}  // namespace sluice
