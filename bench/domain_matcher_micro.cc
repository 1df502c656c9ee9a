// The name match alone, outside the packet path: the suffix-table DomainMatcher against the
// Hyperscan literal database it replaced (LiteralNameMatcher), on the bench's own allow-lists
// and names (bench/domains.cc), one thread, no DPDK. Prints nanoseconds a name (minimum and
// median of the repetitions) and compile seconds; a loaded machine inflates every figure, so
// compare the two matchers within one run.
//
//   build/bench/domain_matcher_micro [DOMAINS ...]     (default: 100 2500 100000; "2500s" = shared suffix)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/domains.h"
#include "dataplane/domain/domain_matcher.h"
#include "dataplane/domain/literal_name_matcher.h"

using namespace sluice;
using namespace sluice::bench;
using Clock = std::chrono::steady_clock;

namespace {

DomainRule to_rule(const std::string& pattern, uint32_t id) {
  if (pattern.rfind("*.", 0) == 0) return {DomainMatchKind::strict_subdomains, pattern.substr(2), id};
  if (pattern.rfind(".", 0) == 0) return {DomainMatchKind::apex_and_subdomains, pattern.substr(1), id};
  return {DomainMatchKind::exact, pattern, id};
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The judge's use: every matching rule visited, the lowest kept.
template <typename Matcher>
double nanoseconds_a_name(const Matcher& matcher, hs_scratch_t* scratch, const std::vector<std::string>& names,
                          uint64_t& found) {
  const auto start = Clock::now();
  for (const std::string& name : names) {
    struct Best {
      uint32_t id = UINT32_MAX;
    } best;
    matcher.for_each_match(
        name, scratch,
        [](uint32_t id, void* context) {
          auto* b = static_cast<Best*>(context);
          b->id = std::min(b->id, id);
          return false;
        },
        &best);
    found += best.id != UINT32_MAX;
  }
  return seconds_since(start) * 1e9 / double(names.size());
}

void run(uint32_t domains, DomainStyle style, bool with_hyperscan) {
  std::vector<DomainRule> rules;
  rules.reserve(domains);
  for (uint32_t n = 0; n < domains; ++n) rules.push_back(to_rule(domain_pattern(n, style), n));
  std::vector<std::string> names;
  std::mt19937 rng(domains);
  for (uint32_t i = 0; i < 200000; ++i) {
    const uint32_t n = rng() % domains;
    names.push_back(i % 2 ? allowed_name(n, style) : denied_name(n, domains, style));
  }
  std::string error;
  auto start = Clock::now();
  auto table = DomainMatcher::compile(rules, error);
  const double table_compile = seconds_since(start);
  if (!table) {
    std::fprintf(stderr, "compile: %s\n", error.c_str());
    std::exit(1);
  }
  std::unique_ptr<LiteralNameMatcher> literal;
  double literal_compile = 0;
  hs_scratch_t* scratch = nullptr;
  if (with_hyperscan) {
    start = Clock::now();
    literal = LiteralNameMatcher::compile(rules, error);
    literal_compile = seconds_since(start);
    if (!literal || !literal->reserve_scratch(&scratch)) std::exit(1);
  }
  std::vector<double> table_ns, literal_ns;
  uint64_t table_found = 0, literal_found = 0;
  for (int rep = 0; rep < 7; ++rep) {
    table_ns.push_back(nanoseconds_a_name(*table, nullptr, names, table_found));
    if (literal) literal_ns.push_back(nanoseconds_a_name(*literal, scratch, names, literal_found));
  }
  std::sort(table_ns.begin(), table_ns.end());
  std::sort(literal_ns.begin(), literal_ns.end());
  std::printf("%8u %-13s suffix table: %7.1f ns (median %7.1f), compile %6.2f s, %6.1f MiB",
              domains, to_string(style), table_ns.front(), table_ns[table_ns.size() / 2], table_compile,
              double(table->database_bytes()) / (1 << 20));
  if (literal)
    std::printf(" | hyperscan: %7.1f ns (median %7.1f), compile %6.2f s, %6.1f MiB | %s", literal_ns.front(),
                literal_ns[literal_ns.size() / 2], literal_compile, double(literal->database_bytes()) / (1 << 20),
                table_found == literal_found ? "same matches" : "MATCHES DIFFER");
  std::printf("\n");
  if (scratch) hs_free_scratch(scratch);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(argv[i]);
  if (sizes.empty()) sizes = {"100", "2500", "2500s", "100000"};
  for (const std::string& size : sizes) {
    const bool shared = !size.empty() && size.back() == 's';
    const uint32_t domains = static_cast<uint32_t>(std::stoul(size));
    // Hyperscan takes minutes at 1M literals: the suffix table alone there.
    run(domains, shared ? DomainStyle::shared_suffix : DomainStyle::distinct, domains <= 200000);
  }
  return 0;
}
