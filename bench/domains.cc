#include "bench/domains.h"

namespace sluice::bench {

namespace {

// TLDs weighted roughly as on allow-lists: mostly .com, then .net/.org/.io and a tail.
constexpr const char* kTlds[16] = {"com", "com", "com", "com", "com", "com", "net", "net",
                                   "org", "org", "io",  "io",  "cloud", "dev", "co.uk", "de"};
constexpr const char* kSyllables[32] = {"ka", "lo", "mi", "ne", "zu", "ra", "ti", "po", "sa", "ve", "du",
                                        "ko", "li", "ma", "nu", "re", "to", "pa", "se", "vi", "da", "ke",
                                        "lu", "mo", "ni", "ru", "ta", "pe", "si", "vo", "de", "ki"};

}  // namespace

const char* to_string(DomainStyle style) { return style == DomainStyle::distinct ? "distinct" : "shared_suffix"; }

std::string domain_base(uint32_t n, DomainStyle style) {
  if (style == DomainStyle::shared_suffix)
    return "svc-" + std::to_string(n) + ".bench-" + std::to_string(n % 97) + ".example";
  // The number first and letters last, so that names differ in their final bytes as real
  // registrable names do (a literal matcher buckets literals by their last bytes).
  uint32_t mix = n * 2654435761u;
  return "svc" + std::to_string(n) + kSyllables[mix >> 27] + kSyllables[(mix >> 22) & 31] +
         kSyllables[(mix >> 17) & 31] + "." + kTlds[(mix >> 8) & 15];
}

std::string domain_pattern(uint32_t n, DomainStyle style) {
  switch (n % 3) {
    case 0: return domain_base(n, style);
    case 1: return "*." + domain_base(n, style);
    default: return "." + domain_base(n, style);
  }
}

std::string allowed_name(uint32_t n, DomainStyle style) {
  switch (n % 3) {
    case 0: return domain_base(n, style);
    case 1: return "api." + domain_base(n, style);
    default: return (n & 4) ? domain_base(n, style) : "www." + domain_base(n, style);
  }
}

std::string denied_name(uint32_t n, uint32_t domains, DomainStyle style) {
  // Rule numbers past the list: the same shape and length, so the scan does the same work.
  return (n % 2 ? "api." : "") + domain_base(domains + n, style);
}

std::string bench_policy_text(uint32_t domains, DomainStyle style) {
  std::string text;
  text.reserve(40 * static_cast<size_t>(domains) + 1024);
  text += "name: \"bench\"\npolicies {\n  name: \"workloads\"\n  access_mode: RESTRICTED\n  enforcement: ENFORCE\n";
  for (uint32_t n = 0; n < domains; ++n) {
    text += "  allowed_domains: \"";
    text += domain_pattern(n, style);
    text += "\"\n";
  }
  text += "  allowed_networks { cidr: \"";
  text += kAllowedNetworkCidr;
  text += "\" protocol: TCP ports: \"" + std::to_string(kAllowedNetworkPort) + "\" }\n";
  text += "  dns_resolvers: \"";
  text += kResolver;
  text += "\"\n}\n";
  text += "policies { name: \"baseline\" access_mode: RESTRICTED enforcement: ENFORCE }\n";
  text += "attachments { source_cidr: \"";
  text += kClientCidr;
  text += "\" policy: \"workloads\" source_label: \"bench-clients\" }\n";
  text += "default_policy: \"baseline\"\n";
  return text;
}

}  // namespace sluice::bench
