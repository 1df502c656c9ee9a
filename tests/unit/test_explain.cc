// sluicectl explain and compile: the question parser, the probe frames (read back by the
// dataplane's own parsers), the JSON builder, and explain_flow / compile_figures on a policy
// compiled for real (EAL, Hyperscan, rte_lpm).
#include <gtest/gtest.h>

#include "controlplane/policy/cidr.h"
#include "cli/compile_report.h"
#include "cli/explain.h"
#include "cli/explain_question.h"
#include "cli/explain_report.h"
#include "controlplane/records/json.h"
#include "cli/probe_frames.h"
#include "dataplane/parse/http_request_parser.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/parse/tls_client_hello_parser.h"
#include "tests/unit/policy_fixture.h"

namespace sluice {
namespace {

using std::nullopt;

using Option = std::optional<std::string_view>;

ExplainQuestion ask(std::string_view source, std::string_view destination, Option port = nullopt,
                    Option protocol = nullopt) {
  ExplainQuestion question;
  std::string problem = parse_explain_question(source, destination, port, protocol, question);
  EXPECT_EQ(problem, "") << source << " " << destination;
  return question;
}

std::string refusal(std::string_view source, std::string_view destination, Option port = nullopt,
                    Option protocol = nullopt) {
  ExplainQuestion question;
  return parse_explain_question(source, destination, port, protocol, question);
}

// --- the question -------------------------------------------------------------------------

TEST(ExplainQuestion, NameDefaultsToTcpPort443) {
  ExplainQuestion question = ask("198.18.1.10", "PyPI.org.");
  EXPECT_TRUE(question.destination_is_name);
  EXPECT_EQ(question.destination, "PyPI.org.");  // sent as written: the dataplane normalises
  EXPECT_EQ(question.ip_protocol, kIpProtoTcp);
  EXPECT_EQ(question.port, 443);
}

TEST(ExplainQuestion, AddressWithPortAndProtocol) {
  ExplainQuestion question = ask("198.18.1.10", "198.19.255.53", "53", "UDP");
  EXPECT_FALSE(question.destination_is_name);
  EXPECT_EQ(format_ip(question.destination_ip), "198.19.255.53");
  EXPECT_EQ(question.ip_protocol, kIpProtoUdp);
  EXPECT_EQ(question.port, 53);
}

TEST(ExplainQuestion, IcmpIsIcmpv6ForIpv6AndHasNoPort) {
  EXPECT_EQ(ask("198.18.1.10", "198.19.0.1", nullopt, "icmp").ip_protocol, kIpProtoIcmp);
  ExplainQuestion v6 = ask("2001:db8:1::1", "2001:db8:9::1", nullopt, "icmp");
  EXPECT_EQ(v6.ip_protocol, kIpProtoIcmpv6);
  EXPECT_EQ(v6.port, 0);
}

TEST(ExplainQuestion, RefusesMalformedQuestions) {
  EXPECT_EQ(refusal("198.18.1", "pypi.org"), "SRC_IP \"198.18.1\" is not an IPv4 or IPv6 address");
  EXPECT_EQ(refusal("198.18.1.10", "bad_host!"),
            "DEST \"bad_host!\" is neither an IP address nor a host name (invalid_byte)");
  EXPECT_EQ(refusal("198.18.1.10", "198.18.0.256"),
            "DEST \"198.18.0.256\" is not a valid IP address, and a number is not a host name");
  EXPECT_EQ(refusal("198.18.1.10", "2001:db8::1"),
            "SRC_IP \"198.18.1.10\" and DEST \"2001:db8::1\" are not of the same IP family");
  EXPECT_EQ(refusal("198.18.1.10", "pypi.org", nullopt, "icmp"),
            "a host name is only judged over TCP (TLS SNI or HTTP Host) or QUIC (UDP); give an IP address for icmp");
  EXPECT_EQ(refusal("198.18.1.10", "198.19.0.1", "7", "icmp"), "ICMP has no ports: --port does not apply");
  EXPECT_EQ(refusal("198.18.1.10", "pypi.org", "0"), "--port needs a number from 1 to 65535, not \"0\"");
  EXPECT_EQ(refusal("198.18.1.10", "pypi.org", "65536"), "--port needs a number from 1 to 65535, not \"65536\"");
  EXPECT_EQ(refusal("198.18.1.10", "pypi.org", "-1"), "--port needs a number from 1 to 65535, not \"-1\"");
  EXPECT_EQ(refusal("198.18.1.10", "pypi.org", nullopt, "sctp"), "--protocol must be tcp, udp or icmp, not \"sctp\"");
}

TEST(ExplainQuestion, NumericNamesLookLikeAddresses) {
  EXPECT_TRUE(looks_numeric("1.2.3"));
  EXPECT_TRUE(looks_numeric("300.1.1.1."));
  EXPECT_FALSE(looks_numeric("1.2.3.example"));
  EXPECT_FALSE(looks_numeric("3com.com"));
  EXPECT_FALSE(looks_numeric(""));
}

// --- the probe frames, read back by the dataplane's parsers ---------------------------------

ProbeFlow flow_between(const char* source, const char* destination, uint16_t port) {
  ProbeFlow flow;
  flow.source = *parse_ip(source);
  flow.destination = *parse_ip(destination);
  flow.destination_port = port;
  return flow;
}

TEST(ProbeFrames, SynParsesAsTheFlowItNames) {
  Frame frame = tcp_frame(flow_between("198.18.1.10", "192.0.2.1", 443), kTcpSyn);
  ParsedPacket parsed;
  ASSERT_EQ(parse_packet(frame, parsed), PacketParseError::none);
  EXPECT_EQ(parsed.ip_version, 4);
  EXPECT_EQ(parsed.l4_protocol, kIpProtoTcp);
  EXPECT_EQ(format_ip(parsed.src), "198.18.1.10");
  EXPECT_EQ(format_ip(parsed.dst), "192.0.2.1");
  EXPECT_EQ(parsed.src_port, kProbeSourcePort);
  EXPECT_EQ(parsed.dst_port, 443);
  EXPECT_EQ(parsed.tcp_flags, kTcpSyn);
  EXPECT_EQ(parsed.payload_length, 0);
}

TEST(ProbeFrames, Ipv4HeaderChecksumIsValid) {
  Frame frame = udp_frame(flow_between("198.18.1.10", "198.19.255.53", 53));
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2) sum += (uint32_t(frame[i]) << 8) | frame[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
}

TEST(ProbeFrames, ClientHelloCarriesTheServerName) {
  auto hello = tls_client_hello("api.github.com");
  Frame frame = tcp_frame(flow_between("2001:db8:1::10", "100::1", 443), kTcpPsh | kTcpAck, hello);
  ParsedPacket parsed;
  ASSERT_EQ(parse_packet(frame, parsed), PacketParseError::none);
  EXPECT_EQ(parsed.ip_version, 6);
  ASSERT_EQ(parsed.payload_length, hello.size());
  ClientHelloInfo info;
  ASSERT_EQ(parse_client_hello(std::span(frame).subspan(parsed.payload_offset, parsed.payload_length), info),
            ClientHelloStatus::ok);
  EXPECT_EQ(info.server_name, "api.github.com");
  EXPECT_EQ(info.server_name_count, 1);
  EXPECT_FALSE(info.has_encrypted_client_hello);
}

TEST(ProbeFrames, HttpRequestCarriesTheHost) {
  auto request = http_request("pypi.org");
  HttpRequestInfo info;
  ASSERT_EQ(parse_http_request(request, info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "pypi.org");
}

TEST(ProbeFrames, IcmpEchoRequestPerFamily) {
  ParsedPacket v4, v6;
  ASSERT_EQ(parse_packet(icmp_echo_frame(flow_between("198.18.1.10", "198.19.0.1", 0)), v4), PacketParseError::none);
  EXPECT_EQ(v4.l4_protocol, kIpProtoIcmp);
  EXPECT_EQ(v4.icmp_type, 8);
  ASSERT_EQ(parse_packet(icmp_echo_frame(flow_between("2001:db8:1::1", "2001:db8:9::1", 0)), v6),
            PacketParseError::none);
  EXPECT_EQ(v6.l4_protocol, kIpProtoIcmpv6);
  EXPECT_EQ(v6.icmp_type, 128);  // echo request, not neighbour discovery
}

// --- JSON ---------------------------------------------------------------------------------

TEST(JsonLine, KeepsFieldOrderAndEscapes) {
  Json json;
  json["name"] = "a \"b\"\n";
  json["count"] = 3;
  json["ok"] = false;
  json["none"] = nullptr;
  json["list"] = std::vector<std::string>{"x", "y"};
  EXPECT_EQ(json_line(json), R"({"name":"a \"b\"\n","count":3,"ok":false,"none":null,"list":["x","y"]})");
  EXPECT_EQ(json_line(Json::object()), "{}");
}

// A name off the wire may be any bytes: the line is still written, and still valid JSON.
TEST(JsonLine, BytesThatAreNotUtf8DoNotThrow) {
  Json json;
  json["destination"] = std::string("caf\xe9.example");
  EXPECT_EQ(json_line(json), "{\"destination\":\"caf\xef\xbf\xbd.example\"}");
}

// --- explain_flow on a compiled policy ----------------------------------------------------

class ExplainFlowTest : public ::testing::Test {
 protected:
  void load(const std::string& text) {
    PublicSuffixList suffixes;
    suffixes.load();
    loaded_ = load_policy_text(text, "unit.textproto", suffixes);
    ASSERT_TRUE(loaded_.ok()) << loaded_.errors[0].to_string();
    policy_.reset();
    // LPM names carry the generation and are process-wide: every compile gets its own.
    static uint64_t generation = 0;
    CompileResult result = compile_policy(loaded_.policy_set, ++generation, 1);
    ASSERT_NE(result.policy, nullptr) << result.error;
    policy_ = std::move(result.policy);
  }
  void SetUp() override { load(test::kTestPolicy); }

  ExplainAnswer explain(std::string_view source, std::string_view destination, Option port = nullopt,
                        Option protocol = nullopt) {
    ExplainAnswer answer;
    std::string error;
    EXPECT_EQ(explain_flow(*policy_, loaded_.policy_set, ask(source, destination, port, protocol), answer, error),
              ExplainStatus::answered)
        << error;
    return answer;
  }

  LoadedPolicy loaded_;
  std::unique_ptr<CompiledPolicy> policy_;
};

TEST_F(ExplainFlowTest, NamesTheLowestMatchingDomainPattern) {
  ExplainAnswer answer = explain("198.18.1.10", "API.GitHub.com");
  EXPECT_EQ(answer.verdict, FlowVerdict::allowed);
  EXPECT_EQ(answer.reason, Reason::allowed_domain);
  EXPECT_EQ(answer.destination_type, DestinationType::sni);
  EXPECT_EQ(answer.judged_name, "api.github.com");  // as the dataplane normalised it
  ASSERT_TRUE(answer.matched_domain_index);
  EXPECT_EQ(*answer.matched_domain_index, 2u);
  EXPECT_EQ(answer.matched_domain, ".github.com");
  EXPECT_EQ(answer.source_label, "spark-prod");
  EXPECT_EQ(answer.policy_name, "prod");
}

TEST_F(ExplainFlowTest, DeniedNameIsResetUnderEnforce) {
  ExplainAnswer answer = explain("198.18.1.10", "blob.core.windows.net", "80");
  EXPECT_EQ(answer.inspection, PortClass::http);
  EXPECT_EQ(answer.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(answer.reason, Reason::domain_not_allowed);
  EXPECT_EQ(answer.destination_type, DestinationType::http_host);
  EXPECT_FALSE(answer.matched_domain_index);
  EXPECT_TRUE(answer.tcp_reset);
}

// UDP 443 is a QUIC port by default: a name is sent as the SNI of a real, protected Initial.
TEST_F(ExplainFlowTest, QuicPortJudgesTheSniOfAnInitial) {
  ExplainAnswer allowed = explain("198.18.1.10", "pypi.org", "443", "udp");
  EXPECT_EQ(allowed.inspection, PortClass::quic);
  EXPECT_EQ(allowed.verdict, FlowVerdict::allowed);
  EXPECT_EQ(allowed.reason, Reason::allowed_domain);
  EXPECT_EQ(allowed.destination_type, DestinationType::quic_sni);
  EXPECT_EQ(allowed.judged_name, "pypi.org");

  ExplainAnswer denied = explain("198.18.1.10", "exfil.example.net", "443", "udp");
  EXPECT_EQ(denied.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(denied.reason, Reason::domain_not_allowed);
  EXPECT_EQ(denied.destination_type, DestinationType::quic_sni);
  EXPECT_TRUE(denied.icmp_unreachable);

  // An address waits for the name, as on a TLS port.
  ExplainAnswer address = explain("198.18.1.10", "198.19.7.7", "443", "udp");
  EXPECT_EQ(address.verdict, FlowVerdict::pending);
  EXPECT_EQ(address.destination_type, DestinationType::quic_sni);

  ExplainAnswer answer;
  std::string error;
  EXPECT_EQ(explain_flow(*policy_, loaded_.policy_set, ask("198.18.1.10", "pypi.org", "53", "udp"), answer, error),
            ExplainStatus::bad_question);
  EXPECT_NE(error.find("UDP port 53 is not a QUIC port"), std::string::npos) << error;
}

TEST_F(ExplainFlowTest, OverrideMakesADryRunDenial) {
  ExplainAnswer answer = explain("198.18.2.9", "example.com");
  EXPECT_EQ(answer.verdict, FlowVerdict::denied_dry_run);
  EXPECT_EQ(answer.enforcement, Enforcement::dry_run);
  EXPECT_EQ(answer.policy_enforcement, Enforcement::enforce);
  EXPECT_TRUE(answer.enforcement_overridden);
  EXPECT_FALSE(answer.tcp_reset);
}

TEST_F(ExplainFlowTest, DefaultAttachmentForUncoveredSources) {
  ExplainAnswer answer = explain("198.18.9.1", "pypi.org");
  EXPECT_TRUE(answer.default_attachment);
  EXPECT_EQ(answer.source_label, "unattached");
  EXPECT_EQ(answer.policy_name, "baseline");
  EXPECT_EQ(answer.verdict, FlowVerdict::allowed);
}

TEST_F(ExplainFlowTest, NamesTheNetworkRuleByItsPlaceInThePolicy) {
  // 198.19.0.0/24 TCP 5432 is rule 0, 198.19.0.0/16 UDP 123 rule 1; both cover 198.19.0.7.
  ExplainAnswer answer = explain("198.18.1.10", "198.19.0.7", "123", "udp");
  EXPECT_EQ(answer.reason, Reason::allowed_network);
  ASSERT_TRUE(answer.matched_network);
  EXPECT_EQ(answer.matched_network->index, 1u);
  EXPECT_EQ(answer.matched_network->cidr, "198.19.0.0/16");
  EXPECT_EQ(answer.matched_network->protocol, "UDP");
  EXPECT_EQ(answer.matched_network->ports, std::vector<std::string>{"123"});
  EXPECT_EQ(answer.covering_networks.size(), 2u);
}

TEST_F(ExplainFlowTest, CoveredAddressOnAnotherPortIsNotAllowed) {
  ExplainAnswer answer = explain("198.18.1.10", "198.19.0.7", "22");
  EXPECT_EQ(answer.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(answer.reason, Reason::ip_not_allowed);
  EXPECT_FALSE(answer.matched_network);
  EXPECT_EQ(answer.covering_networks.size(), 2u);
  EXPECT_EQ(explain_because(answer),
            "198.19.0.7 is in allowed_networks[0] 198.19.0.0/24 TCP port 5432; allowed_networks[1] 198.19.0.0/16 "
            "UDP port 123 of policy prod, but not for TCP port 22");
}

TEST_F(ExplainFlowTest, AddressOnATlsPortWaitsForItsName) {
  ExplainAnswer answer = explain("198.18.1.10", "198.19.9.9");
  EXPECT_EQ(answer.verdict, FlowVerdict::pending);
  EXPECT_EQ(answer.destination_type, DestinationType::sni);
  EXPECT_EQ(answer.policy_name, "prod");
}

TEST_F(ExplainFlowTest, DnsToAListedResolverOnly) {
  EXPECT_EQ(explain("198.18.1.10", "198.19.255.53", "53", "udp").reason, Reason::allowed_dns_resolver);
  ExplainAnswer other = explain("198.18.1.10", "198.19.255.54", "53", "udp");
  EXPECT_EQ(other.reason, Reason::dns_resolver_not_allowed);
  EXPECT_EQ(other.dns_resolvers, std::vector<std::string>{"198.19.255.53"});
}

TEST_F(ExplainFlowTest, NameOnAPortThatIsNeitherTlsNorHttpIsABadQuestion) {
  ExplainAnswer answer;
  std::string error;
  EXPECT_EQ(explain_flow(*policy_, loaded_.policy_set, ask("198.18.1.10", "pypi.org", "22"), answer, error),
            ExplainStatus::bad_question);
  EXPECT_NE(error.find("TCP port 22 is neither a TLS nor an HTTP port"), std::string::npos) << error;
}

TEST_F(ExplainFlowTest, NameIsSentToAnAddressNoAllowedNetworkLetsThrough) {
  load(R"(
name: "stand-in"
policies {
  name: "p" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domains: "pypi.org"
  allowed_networks { cidr: "192.0.2.0/24" protocol: TCP }
}
default_policy: "p"
)");
  ExplainAnswer answer = explain("198.18.1.10", "example.com");
  EXPECT_EQ(format_ip(answer.probe_destination), "198.51.100.1");
  EXPECT_EQ(answer.reason, Reason::domain_not_allowed);  // the name decided, not the network
}

TEST_F(ExplainFlowTest, RuleIndexCountsWithinEachPolicy) {
  load(R"(
name: "two"
policies {
  name: "a" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_networks { cidr: "198.19.0.0/16" protocol: TCP ports: "22" }
}
policies {
  name: "b" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_networks { cidr: "198.20.0.0/16" protocol: UDP }
  allowed_networks { cidr: "198.19.0.0/24" protocol: TCP ports: "8000-8100" description: "web" }
}
attachments { source_cidr: "198.18.1.0/24" policy: "b" }
default_policy: "a"
)");
  ExplainAnswer answer = explain("198.18.1.10", "198.19.0.5", "8080");
  EXPECT_EQ(answer.reason, Reason::allowed_network);
  ASSERT_TRUE(answer.matched_network);
  EXPECT_EQ(answer.matched_network->index, 1u);
  EXPECT_EQ(answer.matched_network->description, "web");
  EXPECT_EQ(explain_because(answer),
            "198.19.0.5 TCP port 8080 is allowed by allowed_networks[1] 198.19.0.0/24 TCP ports 8000-8100 \"web\" "
            "of policy b");
}

// --- allowed-domain ports ------------------------------------------------------------------

constexpr const char* kPortedDomains = R"(
name: "ported"
policies {
  name: "p" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domains: "pypi.org"
  allowed_domains: "*.example.com:8443"
  allowed_domains: "api.example.com:443,8443"
}
default_policy: "p"
tls_ports: 443
tls_ports: 8443
http_ports: 80
)";

TEST_F(ExplainFlowTest, NamesTheLowestRuleWhosePortsAllowTheFlow) {
  load(kPortedDomains);
  // Rule 1 matches the name first but lists only 8443; rule 2 allows 443.
  ExplainAnswer on_443 = explain("198.18.1.10", "api.example.com", "443");
  EXPECT_EQ(on_443.verdict, FlowVerdict::allowed);
  ASSERT_TRUE(on_443.matched_domain_index);
  EXPECT_EQ(*on_443.matched_domain_index, 2u);
  EXPECT_EQ(on_443.matched_domain, "api.example.com:443,8443");
  EXPECT_EQ(explain_because(on_443),
            "\"api.example.com\" matches allowed_domains[2] \"api.example.com:443,8443\" of policy p");

  ExplainAnswer on_8443 = explain("198.18.1.10", "api.example.com", "8443");
  EXPECT_EQ(on_8443.verdict, FlowVerdict::allowed);
  ASSERT_TRUE(on_8443.matched_domain_index);
  EXPECT_EQ(*on_8443.matched_domain_index, 1u);
  EXPECT_EQ(on_8443.matched_domain, "*.example.com:8443");

  ExplainAnswer every_port = explain("198.18.1.10", "pypi.org", "80");
  EXPECT_EQ(every_port.verdict, FlowVerdict::allowed);
  ASSERT_TRUE(every_port.matched_domain_index);
  EXPECT_EQ(*every_port.matched_domain_index, 0u);
}

TEST_F(ExplainFlowTest, NameOnAPortNoMatchingRuleListsIsDenied) {
  load(kPortedDomains);
  ExplainAnswer answer = explain("198.18.1.10", "www.example.com", "443");
  EXPECT_EQ(answer.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(answer.reason, Reason::domain_not_allowed);
  ASSERT_TRUE(answer.matched_domain_index);
  EXPECT_EQ(*answer.matched_domain_index, 1u);
  EXPECT_EQ(answer.matched_domain, "*.example.com:8443");
  EXPECT_EQ(explain_because(answer),
            "\"www.example.com\" matches allowed_domains[1] \"*.example.com:8443\" of policy p, but no allowed "
            "domain it matches allows TCP port 443");
}

TEST(ExplainReport, DeniedOnItsPortNamesTheRuleAndThePort) {
  ExplainAnswer answer;
  answer.policy_name = "prod";
  answer.verdict = FlowVerdict::denied_enforced;
  answer.reason = Reason::domain_not_allowed;
  answer.judged_name = "db.example.com";
  answer.question.ip_protocol = kIpProtoTcp;
  answer.question.port = 80;
  answer.domain_pattern_count = 2;
  answer.matched_domain_index = 1;
  answer.matched_domain = "db.example.com:5432,8000-8100";
  EXPECT_EQ(explain_because(answer),
            "\"db.example.com\" matches allowed_domains[1] \"db.example.com:5432,8000-8100\" of policy prod, but no "
            "allowed domain it matches allows TCP port 80");
  // No rule matches the name at all: as before.
  answer.matched_domain_index.reset();
  answer.matched_domain.clear();
  EXPECT_EQ(explain_because(answer), "\"db.example.com\" matches none of the 2 allowed domains of policy prod");
}

TEST(ExplainReport, AllowedByAPortedRuleNamesItAsWritten) {
  ExplainAnswer answer;
  answer.policy_name = "prod";
  answer.verdict = FlowVerdict::allowed;
  answer.reason = Reason::allowed_domain;
  answer.judged_name = "db.example.com";
  answer.question.ip_protocol = kIpProtoTcp;
  answer.question.port = 5432;
  answer.matched_domain_index = 0;
  answer.matched_domain = "db.example.com:5432";
  EXPECT_EQ(explain_because(answer), "\"db.example.com\" matches allowed_domains[0] \"db.example.com:5432\" of policy prod");
  EXPECT_NE(explain_json(answer, "p.textproto").find(R"("matched_domain":{"index":0,"pattern":"db.example.com:5432"})"),
            std::string::npos);
}

TEST_F(ExplainFlowTest, TextAnswerLinesInOrder) {
  EXPECT_EQ(explain_text(explain("198.18.2.9", "example.com")),
            "source:      198.18.2.9\n"
            "attachment:  198.18.2.0/24, label spark-staging\n"
            "policy:      prod (RESTRICTED)\n"
            "enforcement: DRY_RUN (the attachment's enforcement_override; the policy's is ENFORCE)\n"
            "destination: example.com, TCP port 443 (TLS: judged on the ClientHello's SNI)\n"
            "probe:       TCP SYN, then a ClientHello with SNI example.com, 198.18.2.9:49152 -> 192.0.2.1:443\n"
            "verdict:     DRY_RUN_DENIAL domain_not_allowed\n"
            "because:     \"example.com\" matches none of the 3 allowed domains of policy prod\n");
}

TEST_F(ExplainFlowTest, JsonAnswerHasTheDocumentedFieldsInOrder) {
  std::string json = explain_json(explain("198.18.4.1", "198.19.0.7", nullopt, "icmp"), "unit.textproto");
  EXPECT_EQ(json,
            R"({"policy_file":"unit.textproto","source":"198.18.4.1","destination":"198.19.0.7",)"
            R"("destination_kind":"ip","protocol":"ICMP","dst_port":0,"dst_ip":"198.19.0.7","inspection":"NONE",)"
            R"("attachment":{"source_cidr":"198.18.4.0/24","source_label":"admin","default":false},)"
            R"("policy":{"name":"open","access_mode":"FULL","enforcement":"ENFORCE"},"enforcement":"ENFORCE",)"
            R"("enforcement_overridden":false,"verdict":"ALLOW","reason":"allowed_full_access",)"
            R"("destination_type":"IP","judged_name":null,"matched_domain":null,"matched_network":null,)"
            R"("covering_networks":[],"dns_resolvers":[],"tcp_reset":false,"icmp_unreachable":false,)"
            R"("because":"policy open has access mode FULL: every destination is allowed"})");
}

// --- compile figures ----------------------------------------------------------------------

TEST_F(ExplainFlowTest, CompileFiguresPerPolicyAndTotals) {
  CompileFigures figures = compile_figures(*policy_, loaded_.policy_set, 0.25);
  ASSERT_EQ(figures.policies.size(), 3u);
  EXPECT_EQ(figures.policies[0].name, "prod");
  EXPECT_EQ(figures.policies[0].domain_patterns, 3u);
  EXPECT_GT(figures.policies[0].database_bytes, 0u);
  EXPECT_EQ(figures.policies[0].networks, 2u);
  EXPECT_EQ(figures.policies[0].dns_resolvers, 1u);
  EXPECT_EQ(figures.policies[1].access_mode, AccessMode::full);
  EXPECT_EQ(figures.policies[1].database_bytes, 0u);  // no domains, no database
  EXPECT_EQ(figures.totals.domain_patterns, 4u);
  EXPECT_EQ(figures.totals.database_bytes,
            figures.policies[0].database_bytes + figures.policies[2].database_bytes);
  EXPECT_EQ(figures.attachments, 4u);
  EXPECT_EQ(figures.default_policy, "baseline");
  EXPECT_EQ(figures.tls_ports, std::vector<uint16_t>{443});
  EXPECT_EQ(figures.http_ports, std::vector<uint16_t>{80});
  std::string text = compile_text(figures, "unit.textproto");
  EXPECT_EQ(text.substr(0, text.find('\n')), "unit.textproto: policy set unit compiled in 0.250 s");
}

}  // namespace
}  // namespace sluice
