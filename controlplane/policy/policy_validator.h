// Checks a parsed policy set against docs/POLICY.md and says where each problem is, so that a
// bad set is refused whole with file, line and field.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controlplane/policy/policy_error.h"
#include "policy.pb.h"

namespace sluice {

class PublicSuffixList;
class ServiceTagCatalog;

// Where each field of a text protobuf sits. Binary input has no lines: a locator that parsed
// nothing answers 0 for every path.
class FieldLocator {
 public:
  FieldLocator();
  ~FieldLocator();
  FieldLocator(FieldLocator&&) noexcept;
  FieldLocator& operator=(FieldLocator&&) noexcept;

  // Parses text format into `message`, remembering where every field was written. On a syntax
  // error appends one error (1-based line, column in the message, no field) and returns false.
  bool parse_text(const std::string& text, const std::string& file, google::protobuf::Message& message,
                  PolicyErrors& errors);

  // 1-based line of `path` ("attachments[1].policy"; a repeated field without an index means its
  // first element). When the field itself was not written, the line of its nearest written
  // ancestor, so "missing access_mode" points at its policy; 0 when nothing is known.
  int line_of(std::string_view path) const;

 private:
  using ParseInfoTree = google::protobuf::TextFormat::ParseInfoTree;

  // 0-based line of each element of a repeated field, in element order.
  const std::vector<int>& element_lines(const ParseInfoTree& tree, const google::protobuf::FieldDescriptor* field) const;
  std::vector<int> lines_of_occurrence(const google::protobuf::TextFormat::ParseLocationRange& range) const;

  std::string text_;
  std::vector<size_t> line_starts_;  // byte offset of each line of text_
  const google::protobuf::Descriptor* root_ = nullptr;
  std::unique_ptr<ParseInfoTree> tree_;
  mutable std::map<std::pair<const ParseInfoTree*, const google::protobuf::FieldDescriptor*>, std::vector<int>>
      element_lines_;
};

// Every problem of `set`, sorted by line (file order); empty when the set may be compiled.
// `file` is only copied into the errors. With `warnings`, what is valid but almost certainly
// not meant (an unused group, a rule another rule shadows entirely) is put there, in file order.
// `service_tags` (the loaded tag files) lets shadowing see the prefixes of the rules' service
// tags; the tags themselves are checked by check_service_tag_rules.
PolicyErrors validate_policy_set(const sluice::policy::PolicySet& set, const std::string& file,
                                 const FieldLocator& locator, const PublicSuffixList& suffixes,
                                 PolicyErrors* warnings = nullptr, const ServiceTagCatalog* service_tags = nullptr);

// "line 12" when the locator knows the line of `path`, else the path itself ("attachments[0]"):
// how a message points at a second place ("duplicate ..., first at line 12").
std::string describe_location(const FieldLocator& locator, const std::string& path);

// Stable sort by line: the validators check field by field, operators read top to bottom.
void sort_in_file_order(PolicyErrors& errors);

}  // namespace sluice
