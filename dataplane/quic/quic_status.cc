#include "dataplane/quic/quic_status.h"

namespace sluice {

const char* to_string(QuicStatus status) {
  switch (status) {
    case QuicStatus::ok: return "ok";
    case QuicStatus::not_long_header: return "not_long_header";
    case QuicStatus::truncated: return "truncated";
    case QuicStatus::connection_id_too_long: return "connection_id_too_long";
    case QuicStatus::version_negotiation: return "version_negotiation";
    case QuicStatus::unknown_version: return "unknown_version";
    case QuicStatus::not_initial: return "not_initial";
    case QuicStatus::no_initial: return "no_initial";
    case QuicStatus::packet_too_short: return "packet_too_short";
    case QuicStatus::packet_too_long: return "packet_too_long";
    case QuicStatus::decrypt_failed: return "decrypt_failed";
    case QuicStatus::reserved_bits_set: return "reserved_bits_set";
    case QuicStatus::crypto_unavailable: return "crypto_unavailable";
    case QuicStatus::frame_malformed: return "frame_malformed";
    case QuicStatus::frame_not_allowed: return "frame_not_allowed";
    case QuicStatus::crypto_conflict: return "crypto_conflict";
    case QuicStatus::crypto_too_large: return "crypto_too_large";
  }
  return "unknown";
}

}  // namespace sluice
