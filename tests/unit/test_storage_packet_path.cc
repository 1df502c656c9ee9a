// allowed_storage on the packet path: expanded names pass like allowed domains (bound to their
// learned addresses), a shared path-style endpoint is denied under TLS unless the policy opts in,
// and over plain HTTP every request's path must name a listed bucket.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_fixture.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18;
constexpr const char* kServer = "198.19.0.80";  // Tcp4's default destination

constexpr const char* kStoragePolicy = R"(
policies {
  name: "lake" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_storage { azure_account { name: "acmedata" services: DFS } }
  allowed_storage { s3_bucket { name: "acme-logs" regions: "eu-west-1" } }
  allowed_storage { gcs_bucket { name: "acme-ml" } }
}
policies {
  name: "open-endpoints" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domains: "s3.amazonaws.com"
  allowed_storage { s3_bucket { name: "acme-logs" regions: "eu-west-1" } allow_path_style_endpoints: true }
}
attachments { source_cidr: "198.18.1.0/24" policy: "lake" }
attachments { source_cidr: "198.18.2.0/24" policy: "open-endpoints" }
default_policy: "lake"
)";

class StoragePacketPathTest : public test::WorkerFixture {
 protected:
  void SetUp() override {
    bind_default_servers_ = false;
    emit_allowed_ = true;
    WorkerFixture::SetUp();
    policy_ = test::compile_text(kStoragePolicy, 2);
    ASSERT_NE(policy_, nullptr);
  }
  void adjust(PacketProcessorSetup& setup) override { setup.learned_table = &table_; }

  // The server address was learned for `name` by policy `slot` (as a DNS answer would teach it).
  void learn(const std::string& name, uint16_t slot) {
    inputs_.push_back({*parse_ip(kServer), slot, name, ~0ull});
    const uint64_t consumed[kMaxLearningWorkers] = {};
    published_ = LearnedAddressTable::build(inputs_, consumed);
    table_.store(published_.get());
  }

  std::vector<Bytes> flow(uint16_t port, uint16_t dport, const std::string& payload, const char* src,
                          const char* dst = kServer) {
    Tcp4 syn{.src = src, .dst = dst, .src_port = port, .dst_port = dport, .flags = kSyn, .seq = 999, .ack = 0};
    Tcp4 ack{.src = src, .dst = dst, .src_port = port, .dst_port = dport, .flags = kAck};
    Tcp4 data{.src = src, .dst = dst, .src_port = port, .dst_port = dport, .flags = kPshAck,
              .payload = Bytes(payload.begin(), payload.end())};
    return {test::tcp4_frame(syn), test::tcp4_frame(ack), test::tcp4_frame(data)};
  }
  std::vector<Bytes> tls(const std::string& sni, uint16_t port, const char* src = "198.18.1.10",
                         const char* dst = kServer) {
    const Bytes hello = test::client_hello(sni);
    return flow(port, 443, std::string(hello.begin(), hello.end()), src, dst);
  }
  static std::string get(const std::string& host, const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
  }

  FlowEvent only_event() {
    auto recorded = events();
    EXPECT_EQ(recorded.size(), 1u);
    return recorded.empty() ? FlowEvent{} : recorded.back();
  }

  std::vector<LearnedAddressTable::Input> inputs_;
  std::unique_ptr<LearnedAddressTable> published_;
  std::atomic<const LearnedAddressTable*> table_{nullptr};
};

TEST_F(StoragePacketPathTest, ExpandedNamesPassWhenBoundAndOthersAreDenied) {
  learn("acme-logs.s3.eu-west-1.amazonaws.com", 0);
  burst(Side::inside, tls("acme-logs.s3.dualstack.eu-west-1.amazonaws.com", 42001));
  FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::allowed);
  EXPECT_EQ(event.reason, Reason::allowed_domain);
  // An allowed name to an address no answer gave: not bound.
  burst(Side::inside, tls("acmedata.dfs.core.windows.net", 42002, "198.18.1.10", "198.19.0.81"));
  EXPECT_EQ(only_event().reason, Reason::name_address_mismatch);
  burst(Side::inside, tls("acmedata.blob.core.windows.net", 42003));  // BLOB is not listed
  EXPECT_EQ(only_event().reason, Reason::domain_not_allowed);
  burst(Side::inside, tls("other.s3.eu-west-1.amazonaws.com", 42004));
  EXPECT_EQ(only_event().reason, Reason::domain_not_allowed);
}

TEST_F(StoragePacketPathTest, PathStyleEndpointUnderTlsIsDeniedByItsReason) {
  learn("s3.eu-west-1.amazonaws.com", 0);
  burst(Side::inside, tls("s3.eu-west-1.amazonaws.com", 42011));
  FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(event.reason, Reason::storage_path_style_not_allowed);
  EXPECT_EQ(out_.reply_count, 1);  // the client's reset
  burst(Side::inside, tls("storage.googleapis.com", 42012));
  EXPECT_EQ(only_event().reason, Reason::storage_path_style_not_allowed);
}

TEST_F(StoragePacketPathTest, OptInLetsThePathStyleEndpointThroughMarked) {
  learn("s3.eu-west-1.amazonaws.com", 1);
  burst(Side::inside, tls("s3.eu-west-1.amazonaws.com", 42021, "198.18.2.10"));
  FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::allowed);
  EXPECT_EQ(event.reason, Reason::allowed_storage_path_style);
}

TEST_F(StoragePacketPathTest, AnAllowedDomainRuleForTheEndpointWinsOverTheStorageRule) {
  learn("s3.amazonaws.com", 1);
  burst(Side::inside, tls("s3.amazonaws.com", 42022, "198.18.2.10"));
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

TEST_F(StoragePacketPathTest, PlainHttpPathMustNameAListedBucket) {
  learn("s3.eu-west-1.amazonaws.com", 0);
  burst(Side::inside, flow(42031, 80, get("s3.eu-west-1.amazonaws.com", "/acme-logs/a.csv"), "198.18.1.10"));
  FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::allowed_domain);
  EXPECT_EQ(std::string(event.path, event.path_length), "/acme-logs/a.csv");

  burst(Side::inside, flow(42032, 80, get("s3.eu-west-1.amazonaws.com", "/loot/a.csv"), "198.18.1.10"));
  event = only_event();
  EXPECT_EQ(event.reason, Reason::storage_bucket_not_allowed);
  EXPECT_EQ(std::string(event.path, event.path_length), "/loot/a.csv");

  burst(Side::inside, flow(42033, 80, get("s3.eu-west-1.amazonaws.com", "/acme-logs/../loot/a"), "198.18.1.10"));
  EXPECT_EQ(only_event().reason, Reason::storage_bucket_not_allowed);
}

TEST_F(StoragePacketPathTest, EveryPipelinedRequestNamesItsBucket) {
  learn("s3.eu-west-1.amazonaws.com", 0);
  burst(Side::inside, flow(42041, 80,
                           get("s3.eu-west-1.amazonaws.com", "/acme-logs/a") +
                               get("s3.eu-west-1.amazonaws.com", "/loot/b"),
                           "198.18.1.10"));
  FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(event.reason, Reason::storage_bucket_not_allowed);
  EXPECT_EQ(std::string(event.path, event.path_length), "/loot/b");
}

TEST_F(StoragePacketPathTest, OptInStillJudgesThePathOverPlainHttp) {
  learn("s3.eu-west-1.amazonaws.com", 1);
  burst(Side::inside, flow(42051, 80, get("s3.eu-west-1.amazonaws.com", "/loot/b"), "198.18.2.10"));
  EXPECT_EQ(only_event().reason, Reason::storage_bucket_not_allowed);
}

}  // namespace
}  // namespace sluice
