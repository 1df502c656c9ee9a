// A policy set for packet-path tests, compiled for real (Hyperscan, rte_lpm).
#pragma once

#include <gtest/gtest.h>

#include "controlplane/policy/policy_compiler.h"
#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"

namespace sluice::test {

inline constexpr const char* kTestPolicy = R"(
name: "unit"
policies {
  name: "prod"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "pypi.org"
  allowed_domains: "*.blob.core.windows.net"
  allowed_domains: ".github.com"
  allowed_networks { cidr: "198.19.0.0/24" protocol: TCP ports: "5432" }
  allowed_networks { cidr: "198.19.0.0/16" protocol: UDP ports: "123" }
  dns_resolvers: "198.19.255.53"
  allowed_proxies: "198.19.30.1:80"
  resolvable_names: ".internal.example"
}
policies { name: "open" access_mode: FULL enforcement: ENFORCE }
policies { name: "baseline" access_mode: RESTRICTED enforcement: ENFORCE allowed_domains: "pypi.org" }
attachments { source_cidr: "198.18.1.0/24" policy: "prod" source_label: "spark-prod" }
attachments { source_cidr: "198.18.2.0/24" policy: "prod" source_label: "spark-staging" enforcement_override: DRY_RUN }
attachments { source_cidr: "198.18.4.0/24" policy: "open" source_label: "admin" }
attachments { source_cidr: "2001:db8:1::/48" policy: "prod" source_label: "spark-prod-v6" }
default_policy: "baseline"
default_source_label: "unattached"
)";

// `workers`: Hyperscan scratches, one a worker index the test uses.
inline std::unique_ptr<CompiledPolicy> compile_text(const std::string& text, uint64_t generation = 1,
                                                    unsigned workers = 1) {
  PublicSuffixList suffixes;
  suffixes.load();
  LoadedPolicy loaded = load_policy_text(text, "unit.textproto", suffixes);
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  if (!loaded.ok()) return nullptr;
  CompileResult result = compile_policy(loaded.policy_set, generation, workers);
  EXPECT_NE(result.policy, nullptr) << result.error;
  return std::move(result.policy);
}

}  // namespace sluice::test
