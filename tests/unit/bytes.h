// Big-endian byte building for the unit tests' hand-made frames and records.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/parse/byte_writer.h"

namespace sluice::test {

using Bytes = ByteVector;
using sluice::put16;
using sluice::put24;
using sluice::put32;

// `a` followed by `b`. Bytes is a std type, so callers outside sluice::test need `using test::operator+;`.
inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace sluice::test
