#include "dataplane/parse/dns_message_parser.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"

namespace sluice {

namespace {

constexpr size_t kHeaderLength = 12;
constexpr size_t kQuestionFixedLength = 4;  // type, class
constexpr size_t kRecordFixedLength = 10;   // type, class, ttl, rdlength
// A name of 253 bytes has at most 127 labels, and a well-formed message never needs more than one
// pointer a label. The bound keeps a chain of pointers to pointers from costing thousands of steps.
constexpr int kMaxPointerJumps = 127;

constexpr uint8_t kLabelTypeMask = 0xc0;
constexpr uint8_t kLabelPointer = 0xc0;
constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagTruncated = 0x0200;

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kClassIn = 1;
constexpr size_t kIpv4Length = 4;
constexpr size_t kIpv6Length = 16;

// A name as text: lower case, labels joined by dots, no trailing dot. Two names are the same name
// exactly when their texts are equal, because a label holding a dot is refused while decoding.
struct Name {
  char text[kMaxHostnameLength];
  size_t length = 0;
};

bool same_name(const Name& a, const Name& b) {
  return a.length == b.length && std::memcmp(a.text, b.text, a.length) == 0;
}

char to_lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : char(c); }

// Decodes the name at `offset`, following compression pointers. `next` is set to the offset just
// after the name where it is written (after its first pointer or its zero label).
//
// Every pointer must point before the start of the run of labels it ends. Targets then strictly
// decrease, so no sequence of pointers can loop; the jump bound caps the cost besides.
DnsParseStatus decode_name(std::span<const uint8_t> message, size_t offset, Name& out, size_t& next) {
  out.length = 0;
  size_t position = offset;
  size_t run_start = offset;
  bool jumped = false;
  int jumps = 0;
  for (;;) {
    if (position >= message.size()) return DnsParseStatus::truncated;
    const uint8_t length = message[position];
    if ((length & kLabelTypeMask) == kLabelPointer) {
      if (message.size() - position < 2) return DnsParseStatus::truncated;
      const size_t target = load_be16(message.data() + position) & 0x3fff;
      if (!jumped) next = position + 2;
      jumped = true;
      if (target >= run_start || ++jumps > kMaxPointerJumps) return DnsParseStatus::compression_loop;
      if (target < kHeaderLength) return DnsParseStatus::malformed;  // no name lives in the header
      position = run_start = target;
      continue;
    }
    // 0x40 and 0x80 are the extended label types (RFC 6891 retired them): nothing we can read.
    if ((length & kLabelTypeMask) != 0) return DnsParseStatus::malformed;
    if (length == 0) {
      if (!jumped) next = position + 1;
      return DnsParseStatus::ok;
    }
    // Without its top two bits a length byte is at most 63, the longest label there is.
    if (message.size() - position - 1 < length) return DnsParseStatus::truncated;
    const size_t separator = out.length == 0 ? 0 : 1;
    if (out.length + separator + length > kMaxHostnameLength) return DnsParseStatus::malformed;
    if (separator) out.text[out.length++] = '.';
    for (size_t i = 1; i <= length; ++i) {
      const uint8_t c = message[position + i];
      // "a.b" as one label would read as the two-label name a.b: refuse the ambiguity.
      if (c == '.') return DnsParseStatus::malformed;
      out.text[out.length++] = to_lower(c);
    }
    position += 1 + size_t(length);
  }
}

// Steps over the name at `position` without following pointers. Only for names decode_name has
// already accepted, so the walk is short; it still checks bounds.
bool skip_name(std::span<const uint8_t> message, size_t& position) {
  while (position < message.size()) {
    const uint8_t length = message[position];
    if ((length & kLabelTypeMask) == kLabelPointer) {
      position += 2;
      return position <= message.size();
    }
    position += 1 + size_t(length);
    if (length == 0) return true;
  }
  return false;
}

struct Record {
  size_t owner = 0;  // offset of the owner name
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;
  uint16_t rdlength = 0;
};

// Reads the fixed fields and finds the rdata of the record whose owner name ends at `position`;
// moves `position` past the record.
DnsParseStatus read_record_body(std::span<const uint8_t> message, size_t& position, Record& record) {
  if (message.size() - position < kRecordFixedLength) return DnsParseStatus::truncated;
  const uint8_t* p = message.data() + position;
  record.type = load_be16(p);
  record.klass = load_be16(p + 2);
  record.ttl = load_be32(p + 4);
  record.rdlength = load_be16(p + 8);
  record.rdata = position + kRecordFixedLength;
  if (message.size() - record.rdata < record.rdlength) return DnsParseStatus::truncated;
  position = record.rdata + record.rdlength;
  return DnsParseStatus::ok;
}

bool is_address(const Record& record) {
  return record.klass == kClassIn && (record.type == kTypeA || record.type == kTypeAaaa);
}

bool is_cname(const Record& record) { return record.klass == kClassIn && record.type == kTypeCname; }

// The CNAME's target must fill its rdata exactly: a shorter or longer rdlength is a lie about it.
DnsParseStatus decode_cname_target(std::span<const uint8_t> message, const Record& record, Name& target) {
  size_t end = 0;
  auto rdata = message.first(record.rdata + record.rdlength);
  auto status = decode_name(rdata, record.rdata, target, end);
  if (status == DnsParseStatus::truncated) return DnsParseStatus::malformed;  // ran past its rdata
  if (status != DnsParseStatus::ok) return status;
  return end == record.rdata + record.rdlength ? DnsParseStatus::ok : DnsParseStatus::malformed;
}

// First pass over every record of every section: the names decode, the lengths hold, and the answer
// records we read later have the shape their type requires. Later passes can then trust the layout.
DnsParseStatus check_records(std::span<const uint8_t> message, size_t& position, unsigned count, bool answer) {
  for (unsigned i = 0; i < count; ++i) {
    Record record;
    Name name;
    record.owner = position;
    if (auto status = decode_name(message, position, name, position); status != DnsParseStatus::ok) return status;
    if (auto status = read_record_body(message, position, record); status != DnsParseStatus::ok) return status;
    if (!answer) continue;
    if (is_address(record) && record.rdlength != (record.type == kTypeA ? kIpv4Length : kIpv6Length)) {
      return DnsParseStatus::malformed;
    }
    if (is_cname(record)) {
      if (auto status = decode_cname_target(message, record, name); status != DnsParseStatus::ok) return status;
    }
  }
  return DnsParseStatus::ok;
}

// Calls `visit(record)` for each answer record; stops early when it returns anything but ok.
template <typename Visit>
DnsParseStatus for_each_answer(std::span<const uint8_t> message, size_t begin, unsigned count, Visit&& visit) {
  size_t position = begin;
  for (unsigned i = 0; i < count; ++i) {
    Record record;
    record.owner = position;
    if (!skip_name(message, position)) return DnsParseStatus::truncated;
    if (auto status = read_record_body(message, position, record); status != DnsParseStatus::ok) return status;
    if (auto status = visit(record); status != DnsParseStatus::ok) return status;
  }
  return DnsParseStatus::ok;
}

// RFC 2181 8: a TTL with the top bit set is to be read as zero.
uint32_t effective_ttl(uint32_t ttl) { return ttl > 0x7fffffff ? 0 : ttl; }

// The names the query name leads to. chain[0] is the query name; chain[i] the target of the i-th
// link. CNAMEs may come in any order, so each link is a new pass over the answers.
struct Chain {
  Name names[kMaxDnsCnameDepth + 1];
  int depth = 0;

  bool contains(const Name& name) const {
    for (int i = 0; i <= depth; ++i) {
      if (same_name(names[i], name)) return true;
    }
    return false;
  }
};

DnsParseStatus follow_cnames(std::span<const uint8_t> message, size_t answers, unsigned count, Chain& chain,
                             DnsAnswerInfo& out) {
  for (;;) {
    const Name& current = chain.names[chain.depth];
    Name next;
    uint32_t ttl = 0;
    bool found = false;
    auto status = for_each_answer(message, answers, count, [&](const Record& record) {
      if (!is_cname(record)) return DnsParseStatus::ok;
      Name owner;
      size_t end = 0;
      if (auto s = decode_name(message, record.owner, owner, end); s != DnsParseStatus::ok) return s;
      if (!same_name(owner, current)) return DnsParseStatus::ok;
      // A name with a CNAME has no other data (RFC 2181 10.1); two would leave the chain ambiguous.
      if (found) return DnsParseStatus::malformed;
      found = true;
      ttl = effective_ttl(record.ttl);
      return decode_cname_target(message, record, next);
    });
    if (status != DnsParseStatus::ok) return status;
    if (!found) return DnsParseStatus::ok;
    // A loop (a -> b -> a) ends here too: it never runs out of links.
    if (chain.depth == kMaxDnsCnameDepth) return DnsParseStatus::cname_chain_too_long;
    chain.names[++chain.depth] = next;
    out.cname_depth = uint8_t(chain.depth);
    if (ttl < out.chain_ttl) out.chain_ttl = ttl;
  }
}

void count_skipped(DnsAnswerInfo& out) {
  if (out.addresses_skipped < 0xffff) ++out.addresses_skipped;
}

DnsParseStatus collect_addresses(std::span<const uint8_t> message, size_t answers, unsigned count,
                                 const Chain& chain, bool learnable, DnsAnswerInfo& out) {
  return for_each_answer(message, answers, count, [&](const Record& record) {
    if (!is_address(record)) return DnsParseStatus::ok;
    Name owner;
    size_t end = 0;
    if (auto s = decode_name(message, record.owner, owner, end); s != DnsParseStatus::ok) return s;
    // The anti-poisoning rule: an address for a name the client did not ask about is never learned.
    if (!learnable || out.address_count == kMaxDnsAddresses || !chain.contains(owner)) {
      count_skipped(out);
      return DnsParseStatus::ok;
    }
    DnsAddress& address = out.addresses[out.address_count++];
    address.address.family = record.type == kTypeA ? 4 : 6;
    std::memcpy(address.address.bytes, message.data() + record.rdata, record.rdlength);
    address.ttl = effective_ttl(record.ttl);
    return DnsParseStatus::ok;
  });
}

}  // namespace

DnsParseStatus parse_dns_response(std::span<const uint8_t> message, DnsAnswerInfo& out) {
  out = DnsAnswerInfo{};
  if (message.size() < kHeaderLength) return DnsParseStatus::truncated;
  const uint8_t* header = message.data();
  out.id = load_be16(header);
  const uint16_t flags = load_be16(header + 2);
  if ((flags & kFlagResponse) == 0) return DnsParseStatus::not_response;
  out.opcode = uint8_t((flags >> 11) & 0x0f);
  out.rcode = uint8_t(flags & 0x0f);
  out.truncated_flag = (flags & kFlagTruncated) != 0;
  const unsigned question_count = load_be16(header + 4);
  const unsigned answer_count = load_be16(header + 6);
  const unsigned authority_count = load_be16(header + 8);
  const unsigned additional_count = load_be16(header + 10);
  // Every resolver asks one question a message; with more, "the" query name is not defined.
  if (question_count != 1) return DnsParseStatus::malformed;

  Chain chain;
  Name& query = chain.names[0];
  size_t position = kHeaderLength;
  if (auto status = decode_name(message, position, query, position); status != DnsParseStatus::ok) return status;
  if (message.size() - position < kQuestionFixedLength) return DnsParseStatus::truncated;
  std::memcpy(out.query_name, query.text, query.length);
  out.query_name_length = uint8_t(query.length);
  out.query_type = load_be16(message.data() + position);
  out.query_class = load_be16(message.data() + position + 2);
  position += kQuestionFixedLength;

  // Walk all three sections even though only answers are used: a message shorter than its counts
  // is cut, and one cut short must not pass as whole.
  const size_t answers = position;
  if (auto status = check_records(message, position, answer_count, true); status != DnsParseStatus::ok) return status;
  if (auto status = check_records(message, position, authority_count + additional_count, false);
      status != DnsParseStatus::ok) {
    return status;
  }

  if (auto status = follow_cnames(message, answers, answer_count, chain, out); status != DnsParseStatus::ok) {
    return status;
  }
  for (int i = 0; i <= chain.depth; ++i) {
    char normalised[kMaxHostnameLength];
    size_t length = 0;
    if (normalize_hostname({chain.names[i].text, chain.names[i].length}, normalised, length) != HostnameStatus::ok)
      out.name_outside_hostname_syntax = true;
  }
  // Only a successful standard query teaches addresses: an UPDATE's sections mean other things,
  // and an error answer has nothing to teach.
  const bool learnable = out.opcode == 0 && out.rcode == 0;
  return collect_addresses(message, answers, answer_count, chain, learnable, out);
}

DnsParseStatus parse_dns_tcp_response(std::span<const uint8_t> stream, DnsAnswerInfo& out) {
  constexpr size_t kLengthPrefix = 2;
  if (stream.size() < kLengthPrefix) {
    out = DnsAnswerInfo{};
    return DnsParseStatus::truncated;
  }
  const size_t length = load_be16(stream.data());
  if (stream.size() - kLengthPrefix < length) {
    out = DnsAnswerInfo{};
    return DnsParseStatus::truncated;
  }
  return parse_dns_response(stream.subspan(kLengthPrefix, length), out);
}

const char* to_string(DnsParseStatus status) {
  switch (status) {
    case DnsParseStatus::ok: return "ok";
    case DnsParseStatus::not_response: return "not_response";
    case DnsParseStatus::truncated: return "truncated";
    case DnsParseStatus::malformed: return "malformed";
    case DnsParseStatus::compression_loop: return "compression_loop";
    case DnsParseStatus::cname_chain_too_long: return "cname_chain_too_long";
  }
  return "unknown";
}

}  // namespace sluice
