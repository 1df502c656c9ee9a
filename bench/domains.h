// Synthetic, reproducible domain lists and the benchmark policy built from them. Rule n of a
// policy of N domains is one of the three pattern kinds (n % 3), so the Hyperscan database holds
// exact and suffix literals in the proportions a real allow-list has.
//
// Two styles: `distinct` names are registrable domains of their own under a mix of TLDs, as an
// allow-list of SaaS and package hosts is ("svc12kalo.com"); `shared_suffix` names all sit
// under one suffix ("svc-12.bench-12.example"), as a list of one company's hosts does. Both are
// measured: the matcher's cost differs by orders of magnitude between them.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::bench {

enum class DomainStyle : uint8_t { distinct, shared_suffix };
const char* to_string(DomainStyle style);

// The base name of rule n.
std::string domain_base(uint32_t n, DomainStyle style);
// The pattern as written in the policy: "base", "*.base" or ".base" (n % 3).
std::string domain_pattern(uint32_t n, DomainStyle style);
// A host name that rule n allows.
std::string allowed_name(uint32_t n, DomainStyle style);
// A host name of the same shape that no rule of a policy of `domains` rules allows.
std::string denied_name(uint32_t n, uint32_t domains, DomainStyle style);

// Addresses the benchmark policy gives meaning to.
inline constexpr const char* kClientCidr = "198.18.0.0/16";         // attached to "workloads"
inline constexpr const char* kAllowedNetworkCidr = "198.19.0.0/24";  // TCP 5432: established flows
inline constexpr uint16_t kAllowedNetworkPort = 5432;
inline constexpr const char* kResolver = "198.19.255.53";

// A policy set (text protobuf) whose "workloads" policy allows `domains` synthetic patterns,
// one database server network and one resolver; ENFORCE, so denied flows are dropped and reset.
std::string bench_policy_text(uint32_t domains, DomainStyle style);

}  // namespace sluice::bench
