#include "dataplane/parse/tls_client_hello_parser.h"

#include <algorithm>
#include <cstring>

#include "dataplane/parse/byte_reader.h"

namespace sluice {

namespace {

constexpr uint8_t kContentTypeHandshake = 22;
constexpr uint8_t kTlsMajorVersion = 3;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeaderLength = 5;
constexpr size_t kHandshakeHeaderLength = 4;
// 2^14 of plaintext plus room for the overhead peers tolerate; anything longer is not TLS we read.
constexpr size_t kMaxRecordLength = 16384 + 256;
constexpr size_t kRandomLength = 32;
constexpr size_t kMaxSessionIdLength = 32;

constexpr uint16_t kExtensionServerName = 0;
constexpr uint16_t kExtensionAlpn = 16;
constexpr uint16_t kExtensionSupportedVersions = 43;
constexpr uint16_t kExtensionEncryptedClientHello = 0xfe0d;
constexpr uint8_t kNameTypeHostName = 0;

// Every failure below is reported through this, so that a read past what has arrived always means
// "wait" and a read past a declared length always means "contradiction".
ClientHelloStatus status_of(ReadResult result) {
  return result == ReadResult::overrun ? ClientHelloStatus::malformed : ClientHelloStatus::incomplete;
}

#define SLUICE_READ(expr)                                                                   \
  do {                                                                                      \
    if (auto read_result = (expr); read_result != ReadResult::ok) return status_of(read_result); \
  } while (false)

// RFC 8701 GREASE values look like 0x?A?A with both bytes equal; they say nothing about the client.
bool is_grease(uint16_t value) { return (value & 0x0f0f) == 0x0a0a && (value >> 8) == (value & 0xff); }

void count_saturating(uint8_t& count) {
  if (count < 255) ++count;
}

ClientHelloStatus parse_server_name(ByteReader body, ClientHelloInfo& out) {
  out.has_server_name_extension = true;
  uint16_t list_length = 0;
  SLUICE_READ(body.u16(list_length));
  if (list_length == 0 || list_length != body.remaining()) return ClientHelloStatus::malformed;
  while (!body.at_end()) {
    uint8_t name_type = 0;
    uint16_t name_length = 0;
    SLUICE_READ(body.u8(name_type));
    SLUICE_READ(body.u16(name_length));
    if (name_type == kNameTypeHostName && name_length == 0) return ClientHelloStatus::malformed;
    std::string_view name;
    SLUICE_READ(body.text(name_length, name));
    if (name_type != kNameTypeHostName) continue;
    if (out.server_name_count == 0) out.server_name = name;
    count_saturating(out.server_name_count);
  }
  return ClientHelloStatus::ok;
}

ClientHelloStatus parse_alpn(ByteReader body, ClientHelloInfo& out) {
  uint16_t list_length = 0;
  SLUICE_READ(body.u16(list_length));
  if (list_length == 0 || list_length != body.remaining()) return ClientHelloStatus::malformed;
  bool first = true;
  while (!body.at_end()) {
    uint8_t protocol_length = 0;
    SLUICE_READ(body.u8(protocol_length));
    if (protocol_length == 0) return ClientHelloStatus::malformed;
    std::string_view protocol;
    SLUICE_READ(body.text(protocol_length, protocol));
    if (first) out.first_alpn = protocol;
    first = false;
  }
  return ClientHelloStatus::ok;
}

ClientHelloStatus parse_supported_versions(ByteReader body, ClientHelloInfo& out) {
  uint8_t list_length = 0;
  SLUICE_READ(body.u8(list_length));
  if (list_length < 2 || list_length % 2 != 0 || list_length != body.remaining()) return ClientHelloStatus::malformed;
  while (!body.at_end()) {
    uint16_t version = 0;
    SLUICE_READ(body.u16(version));
    if (is_grease(version)) continue;
    count_saturating(out.supported_versions_count);
    if (version > out.highest_supported_version) out.highest_supported_version = version;
  }
  return ClientHelloStatus::ok;
}

// A repeated extension is forbidden (RFC 8446 4.2), and a second server_name or ALPN list would let
// a client show us one name and the server another.
uint8_t seen_bit(uint16_t type) {
  switch (type) {
    case kExtensionServerName: return 1;
    case kExtensionAlpn: return 2;
    case kExtensionSupportedVersions: return 4;
    case kExtensionEncryptedClientHello: return 8;
    default: return 0;
  }
}

ClientHelloStatus parse_extension(uint16_t type, ByteReader body, uint8_t& seen, ClientHelloInfo& out) {
  const uint8_t bit = seen_bit(type);
  if (seen & bit) return ClientHelloStatus::malformed;
  seen |= bit;
  auto status = ClientHelloStatus::ok;
  if (type == kExtensionServerName) status = parse_server_name(body, out);
  if (type == kExtensionAlpn) status = parse_alpn(body, out);
  if (type == kExtensionSupportedVersions) status = parse_supported_versions(body, out);
  if (type == kExtensionEncryptedClientHello) out.has_encrypted_client_hello = true;
  if (status != ClientHelloStatus::ok) return status;
  // Extensions we do not interpret must have arrived too: "ok" means the whole hello is here.
  size_t start = 0;
  SLUICE_READ(body.take(body.remaining(), start));
  return ClientHelloStatus::ok;
}

ClientHelloStatus parse_extensions(ByteReader& hello, ClientHelloInfo& out) {
  uint16_t extensions_length = 0;
  SLUICE_READ(hello.u16(extensions_length));
  if (extensions_length != hello.remaining()) return ClientHelloStatus::malformed;
  uint8_t seen = 0;
  while (!hello.at_end()) {
    uint16_t type = 0;
    uint16_t length = 0;
    SLUICE_READ(hello.u16(type));
    SLUICE_READ(hello.u16(length));
    ByteReader body = hello;
    SLUICE_READ(hello.nested(length, body));
    if (auto status = parse_extension(type, body, seen, out); status != ClientHelloStatus::ok) return status;
  }
  return ClientHelloStatus::ok;
}

ClientHelloStatus parse_hello_body(ByteReader& hello, ClientHelloInfo& out) {
  size_t start = 0;
  SLUICE_READ(hello.u16(out.legacy_version));
  SLUICE_READ(hello.take(kRandomLength, start));

  uint8_t session_id_length = 0;
  SLUICE_READ(hello.u8(session_id_length));
  if (session_id_length > kMaxSessionIdLength) return ClientHelloStatus::malformed;
  SLUICE_READ(hello.take(session_id_length, start));

  uint16_t cipher_suites_length = 0;
  SLUICE_READ(hello.u16(cipher_suites_length));
  if (cipher_suites_length < 2 || cipher_suites_length % 2 != 0) return ClientHelloStatus::malformed;
  SLUICE_READ(hello.take(cipher_suites_length, start));

  uint8_t compression_methods_length = 0;
  SLUICE_READ(hello.u8(compression_methods_length));
  if (compression_methods_length < 1) return ClientHelloStatus::malformed;
  SLUICE_READ(hello.take(compression_methods_length, start));

  // Extensions are optional in TLS 1.2 and earlier: a hello may end right after compression.
  if (hello.at_end()) return ClientHelloStatus::ok;
  return parse_extensions(hello, out);
}

#undef SLUICE_READ

// Reads the handshake message `message` (its 4-byte header included) whose declared length is
// `message_length`; `message` may hold only a prefix of it, and then the reader runs out of
// arrived bytes before the declared end and says "incomplete", unless a contradiction shows first.
ClientHelloStatus parse_message(std::span<const uint8_t> message, size_t message_length, ClientHelloInfo& out) {
  ByteReader hello(message, kHandshakeHeaderLength, message_length);
  const auto status = parse_hello_body(hello, out);
  if (out.supported_versions_count == 0) out.highest_supported_version = out.legacy_version;
  return status;
}

// Copies the fragments of the handshake message from consecutive records into `scratch` and reads
// what has been joined. The first record's header has been checked by the caller.
ClientHelloStatus join_records(std::span<const uint8_t> stream, std::span<uint8_t> scratch, ClientHelloInfo& out) {
  size_t gathered = 0;
  size_t message_length = 0;  // 0 until the handshake header has been gathered
  size_t position = 0;
  size_t used = 0;
  while (message_length == 0 || gathered < message_length) {
    const size_t available = stream.size() - position;
    // Only handshake records may carry the rest of the hello; judge each byte as it arrives.
    if (available >= 1 && stream[position] != kContentTypeHandshake) return ClientHelloStatus::malformed;
    if (available >= 2 && stream[position + 1] != kTlsMajorVersion) return ClientHelloStatus::malformed;
    if (available < kRecordHeaderLength) break;
    const size_t record_length = load_be16(stream.data() + position + 3);
    // RFC 8446 5.1: handshake records are never empty.
    if (record_length == 0 || record_length > kMaxRecordLength) return ClientHelloStatus::malformed;
    const size_t fragment = std::min(record_length, available - kRecordHeaderLength);
    if (fragment > scratch.size() - gathered) return ClientHelloStatus::too_large;
    std::memcpy(scratch.data() + gathered, stream.data() + position + kRecordHeaderLength, fragment);
    const size_t record_starts_at = gathered;
    gathered += fragment;
    if (message_length == 0 && gathered >= kHandshakeHeaderLength) {
      message_length = kHandshakeHeaderLength + load_be24(scratch.data() + 1);
      if (message_length > scratch.size()) return ClientHelloStatus::too_large;
    }
    // As in one record: the client sends nothing after its hello until the server answers, so a
    // record reaching past the end of the message contradicts the handshake length.
    if (message_length != 0 && record_starts_at + record_length > message_length) return ClientHelloStatus::malformed;
    if (fragment < record_length) break;  // the rest of this record has not arrived yet
    position += kRecordHeaderLength + record_length;
    used = position;
  }
  if (message_length == 0) return ClientHelloStatus::incomplete;
  const auto status = parse_message(scratch.first(gathered), message_length, out);
  // "ok" means every byte of the message was read, so the loop above ended on a whole record.
  if (status == ClientHelloStatus::ok) out.stream_bytes_used = uint32_t(used);
  return status;
}

}  // namespace

ClientHelloStatus parse_client_hello(std::span<const uint8_t> stream, ClientHelloInfo& out) {
  return parse_client_hello(stream, std::span<uint8_t>(), out);
}

ClientHelloStatus parse_client_hello(std::span<const uint8_t> stream, std::span<uint8_t> scratch,
                                     ClientHelloInfo& out) {
  out = ClientHelloInfo{};
  // Judge each byte as soon as it is present, so that a non-TLS stream is never "incomplete".
  if (stream.size() >= 1 && stream[0] != kContentTypeHandshake) return ClientHelloStatus::not_tls;
  if (stream.size() >= 2 && stream[1] != kTlsMajorVersion) return ClientHelloStatus::not_tls;
  if (stream.size() < kRecordHeaderLength) return ClientHelloStatus::incomplete;

  const size_t record_length = load_be16(stream.data() + 3);
  if (record_length > kMaxRecordLength || record_length == 0) return ClientHelloStatus::malformed;
  // Without scratch memory a handshake header cut across records can never be read.
  if (record_length < kHandshakeHeaderLength && scratch.empty()) return ClientHelloStatus::malformed;
  const size_t arrived = stream.size() - kRecordHeaderLength;
  // Bytes of later records must not be mistaken for this one's.
  auto record = stream.subspan(kRecordHeaderLength, std::min(record_length, arrived));

  if (record.size() >= 1 && record[0] != kHandshakeClientHello) return ClientHelloStatus::not_client_hello;
  if (record_length < kHandshakeHeaderLength) return join_records(stream, scratch, out);
  if (record.size() < kHandshakeHeaderLength) return ClientHelloStatus::incomplete;
  const size_t message_length = kHandshakeHeaderLength + load_be24(record.data() + 1);
  // A client sends nothing after its ClientHello until the server answers: trailing bytes in the
  // same record contradict the handshake length.
  if (message_length < record_length) return ClientHelloStatus::malformed;

  // The whole hello in this record (the common case), or no scratch to join records in: read it in
  // place. A hello longer than this record is then "incomplete", unless a contradiction shows first.
  if (message_length == record_length || scratch.empty()) {
    const auto status = parse_message(record, message_length, out);
    if (status == ClientHelloStatus::ok) out.stream_bytes_used = uint32_t(kRecordHeaderLength + record_length);
    return status;
  }
  if (message_length > scratch.size()) return ClientHelloStatus::too_large;
  return join_records(stream, scratch, out);
}

ClientHelloStatus parse_client_hello_message(std::span<const uint8_t> message, ClientHelloInfo& out) {
  out = ClientHelloInfo{};
  if (message.size() >= 1 && message[0] != kHandshakeClientHello) return ClientHelloStatus::not_client_hello;
  if (message.size() < kHandshakeHeaderLength) return ClientHelloStatus::incomplete;
  const size_t message_length = kHandshakeHeaderLength + load_be24(message.data() + 1);
  if (message.size() > message_length) return ClientHelloStatus::malformed;
  const auto status = parse_message(message, message_length, out);
  if (status == ClientHelloStatus::ok) out.stream_bytes_used = uint32_t(message_length);
  return status;
}

const char* to_string(ClientHelloStatus status) {
  switch (status) {
    case ClientHelloStatus::ok: return "ok";
    case ClientHelloStatus::incomplete: return "incomplete";
    case ClientHelloStatus::not_tls: return "not_tls";
    case ClientHelloStatus::not_client_hello: return "not_client_hello";
    case ClientHelloStatus::malformed: return "malformed";
    case ClientHelloStatus::too_large: return "too_large";
  }
  return "unknown";
}

}  // namespace sluice
