#include "dataplane/parse/tls_client_hello_parser.h"

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

}  // namespace

ClientHelloStatus parse_client_hello(std::span<const uint8_t> stream, ClientHelloInfo& out) {
  out = ClientHelloInfo{};
  // Judge each byte as soon as it is present, so that a non-TLS stream is never "incomplete".
  if (stream.size() >= 1 && stream[0] != kContentTypeHandshake) return ClientHelloStatus::not_tls;
  if (stream.size() >= 2 && stream[1] != kTlsMajorVersion) return ClientHelloStatus::not_tls;
  if (stream.size() < kRecordHeaderLength) return ClientHelloStatus::incomplete;

  const size_t record_length = load_be16(stream.data() + 3);
  if (record_length > kMaxRecordLength || record_length < kHandshakeHeaderLength) return ClientHelloStatus::malformed;
  const size_t arrived = stream.size() - kRecordHeaderLength;
  // Only the first record is read: bytes of later records must not be mistaken for this one's.
  auto record = stream.subspan(kRecordHeaderLength, record_length < arrived ? record_length : arrived);

  if (record.size() >= 1 && record[0] != kHandshakeClientHello) return ClientHelloStatus::not_client_hello;
  if (record.size() < kHandshakeHeaderLength) return ClientHelloStatus::incomplete;
  const size_t hello_length = load_be24(record.data() + 1);
  // A client sends nothing after its ClientHello until the server answers: trailing bytes in the
  // same record contradict the handshake length.
  if (kHandshakeHeaderLength + hello_length < record_length) return ClientHelloStatus::malformed;

  // When the hello is longer than this record, the reader runs out of arrived bytes before its
  // declared end and reports "incomplete", unless a contradiction shows up first.
  ByteReader hello(record, kHandshakeHeaderLength, kHandshakeHeaderLength + hello_length);
  const auto status = parse_hello_body(hello, out);
  if (out.supported_versions_count == 0) out.highest_supported_version = out.legacy_version;
  return status;
}

const char* to_string(ClientHelloStatus status) {
  switch (status) {
    case ClientHelloStatus::ok: return "ok";
    case ClientHelloStatus::incomplete: return "incomplete";
    case ClientHelloStatus::not_tls: return "not_tls";
    case ClientHelloStatus::not_client_hello: return "not_client_hello";
    case ClientHelloStatus::malformed: return "malformed";
  }
  return "unknown";
}

}  // namespace sluice
