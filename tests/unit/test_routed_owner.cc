// Routed mode's owner rule (routed_owner.h): every exchange routed mode carries — plain and
// translated flows, the DNS forwarder, the health probe, the tap's kernel services, hairpins,
// ICMP errors from routers beyond SNAT, fragments — has one worker for both its directions;
// ARP and neighbour discovery go to worker 0; the rule spreads inside hosts over the workers
// and reads nothing past a frame's end.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/route/routed_owner.h"
#include "tests/unit/snat_frames.h"

namespace sluice {
namespace {

using test::Bytes;
using test::ether;
using test::icmp_message;
using test::ip;
using test::ip_packet;
using test::tcp_segment;
using test::udp_segment;

constexpr uint16_t kPortMin = 20000, kPortMax = 29999;

// Inside: 198.18.1.0/24 and 2001:db8:1::/64 connected, 198.18.2.0/24 behind an inside router.
// Outside: 198.19.0.0/24 and 2001:db8:2::/64 connected with the SNAT addresses 198.19.0.2 and
// 2001:db8:2::2, the default routes via 198.19.0.254 / 2001:db8:2::fe with SNAT.
RoutingTables make_tables() {
  RoutingTables tables;
  RoutedPort inside;
  inside.addresses = {{ip("198.18.1.1"), 24}, {ip("2001:db8:1::1"), 64}};
  RoutedPort outside;
  outside.addresses = {{ip("198.19.0.1"), 24}, {ip("198.19.0.2"), 24}, {ip("2001:db8:2::1"), 64}, {ip("2001:db8:2::2"), 64}};
  tables.set_port(0, inside);
  tables.set_port(1, outside);
  tables.add_route({ip("198.18.2.0"), 24, 0, false, ip("198.18.1.254"), false});
  tables.add_route({ip("0.0.0.0"), 0, 1, false, ip("198.19.0.254"), true});
  tables.add_route({ip("::"), 0, 1, false, ip("2001:db8:2::fe"), true});
  tables.seal();
  return tables;
}

class RoutedOwner : public ::testing::Test {
 protected:
  RoutingTables tables = make_tables();
  RoutedOwnerRules rules_for(uint16_t workers) const {
    RoutedOwnerRules rules;
    rules.tables = &tables;
    rules.snat_addresses = {ip("198.19.0.2"), ip("2001:db8:2::2")};
    rules.slices = SnatPortSlices(kPortMin, kPortMax, workers);
    rules.workers = workers;
    return rules;
  }
  uint16_t owner(const Bytes& frame, uint16_t workers = 4) const {
    const RoutedOwnerRules rules = rules_for(workers);
    std::vector<uint8_t> exact(frame.begin(), frame.end());  // exact size: AddressSanitizer sees an overread
    return routed_owner(exact.data(), uint32_t(exact.size()), rules);
  }
};

Bytes tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  return ether(ip_packet(ip(src), ip(dst), kIpProtoTcp, tcp_segment(sport, dport)));
}
Bytes udp(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  return ether(ip_packet(ip(src), ip(dst), kIpProtoUdp, udp_segment(sport, dport)));
}
Bytes icmp(const char* src, const char* dst, uint8_t type, uint32_t rest, const Bytes& payload = {}) {
  const uint8_t protocol = test::icmp_protocol(ip(src));
  return ether(ip_packet(ip(src), ip(dst), protocol, icmp_message(type, 0, rest, payload)));
}
// An ICMP error from `router` to `to`, quoting the IP packet of `quoted` (a frame) cut to 28 bytes
// (IPv4) or its whole (IPv6).
Bytes icmp_error(const char* router, const char* to, uint8_t type, const Bytes& quoted) {
  const bool v4 = ip(router).family == 4;
  Bytes quote(quoted.begin() + 14, v4 ? quoted.begin() + 14 + 28 : quoted.end());
  return icmp(router, to, type, 0, quote);
}

// A host's port from worker `worker`'s slice, as that worker's SNAT table hands them out.
uint16_t snat_port_of(uint16_t worker, uint16_t workers, uint16_t nth = 0) {
  return uint16_t(SnatPortSlices(kPortMin, kPortMax, workers).slice(worker).first + nth);
}

TEST_F(RoutedOwner, OneWorkerIsAlwaysWorkerZero) {
  EXPECT_EQ(owner(tcp("198.18.1.10", "198.19.0.80", 40000, 443), 1), 0);
  EXPECT_EQ(owner(tcp("198.19.0.80", "198.19.0.2", 443, 25000), 1), 0);
}

TEST_F(RoutedOwner, BothDirectionsOfAPlainFlowMeet) {
  for (uint16_t workers : {2, 3, 4, 16}) {
    for (int host = 1; host < 60; ++host) {
      const std::string h = "198.18.1." + std::to_string(host + 9);
      EXPECT_EQ(owner(tcp(h.c_str(), "198.19.7.80", 40000, 443), workers),
                owner(tcp("198.19.7.80", h.c_str(), 443, 40000), workers)) << h;
      // Behind the inside router too.
      const std::string far = "198.18.2." + std::to_string(host + 9);
      EXPECT_EQ(owner(udp(far.c_str(), "198.19.7.53", 5353, 53), workers),
                owner(udp("198.19.7.53", far.c_str(), 53, 5353), workers)) << far;
    }
  }
  const std::string h6 = "2001:db8:1::10";
  EXPECT_EQ(owner(tcp(h6.c_str(), "2001:db8:9::80", 40000, 443)), owner(tcp("2001:db8:9::80", h6.c_str(), 443, 40000)));
}

TEST_F(RoutedOwner, AnInsideHostsFlowsShareItsWorker) {
  // The trade-off of hashing the inside host alone: one host, one worker, whatever the server.
  const uint16_t first = owner(tcp("198.18.1.10", "198.19.7.80", 40000, 443));
  for (int server = 1; server < 50; ++server) {
    const std::string s = "198.19." + std::to_string(server) + ".80";
    EXPECT_EQ(owner(tcp("198.18.1.10", s.c_str(), uint16_t(40000 + server), 443)), first);
  }
}

TEST_F(RoutedOwner, SnatAnswersReachTheWorkerThatTranslated) {
  for (uint16_t workers : {2, 3, 4, 16}) {
    for (int host = 1; host < 60; ++host) {
      const std::string h = "198.18.1." + std::to_string(host + 9);
      const uint16_t w = owner(tcp(h.c_str(), "198.19.7.80", 40000, 443), workers);
      // That worker's SNAT table hands out a port of its slice; the server answers it.
      for (uint16_t nth : {0, 1, 100}) {
        const uint16_t port = snat_port_of(w, workers, nth);
        EXPECT_EQ(owner(tcp("198.19.7.80", "198.19.0.2", 443, port), workers), w);
        EXPECT_EQ(owner(udp("198.19.7.53", "198.19.0.2", 53, port), workers), w);
        // An echo reply names its translated identifier.
        EXPECT_EQ(owner(icmp("198.19.7.80", "198.19.0.2", 0, uint32_t(port) << 16 | 1), workers), w);
      }
    }
  }
  const uint16_t w6 = owner(tcp("2001:db8:1::10", "2001:db8:9::80", 40000, 443));
  EXPECT_EQ(owner(tcp("2001:db8:9::80", "2001:db8:2::2", 443, snat_port_of(w6, 4))), w6);
  EXPECT_EQ(owner(icmp("2001:db8:9::80", "2001:db8:2::2", 129, uint32_t(snat_port_of(w6, 4, 7)) << 16)), w6);
  // The last worker also holds the ports left over by the division.
  EXPECT_EQ(owner(tcp("198.19.7.80", "198.19.0.2", 443, kPortMax), 3), 2);
}

TEST_F(RoutedOwner, IcmpErrorsFromRoutersBeyondSnatReachTheTranslatingWorker) {
  for (uint16_t w = 0; w < 4; ++w) {
    const uint16_t port = snat_port_of(w, 4, 3);
    // What the appliance sent (already translated), and a router beyond saying it expired.
    const Bytes sent = tcp("198.19.0.2", "198.19.7.80", port, 443);
    EXPECT_EQ(owner(icmp_error("198.19.5.5", "198.19.0.2", 11, sent)), w);
    EXPECT_EQ(owner(icmp_error("198.19.0.254", "198.19.0.2", 3, udp("198.19.0.2", "198.19.7.53", port, 53))), w);
    // About a translated echo request: its identifier.
    EXPECT_EQ(owner(icmp_error("198.19.5.5", "198.19.0.2", 11, icmp("198.19.0.2", "198.19.7.80", 8, uint32_t(port) << 16))), w);
    const Bytes sent6 = tcp("2001:db8:2::2", "2001:db8:9::80", port, 443);
    EXPECT_EQ(owner(icmp_error("2001:db8:5::5", "2001:db8:2::2", 3, sent6)), w);
  }
}

TEST_F(RoutedOwner, IcmpErrorsWithoutSnatFollowTheFlowTheyQuote) {
  const Bytes out = tcp("198.18.1.10", "198.19.7.80", 40000, 443);
  const uint16_t w = owner(out);
  // A router beyond the appliance about the client's packet.
  EXPECT_EQ(owner(icmp_error("198.19.5.5", "198.18.1.10", 11, out)), w);
  // A router on the inside about the server's packet to the client: the error goes to the
  // server, its outer pair names the inside router, its quote names the flow.
  const Bytes back = tcp("198.19.7.80", "198.18.1.10", 443, 40000);
  for (int router = 1; router < 30; ++router) {
    const std::string r = "198.18.1." + std::to_string(200 + router);
    EXPECT_EQ(owner(icmp_error(r.c_str(), "198.19.7.80", 3, back)), w) << r;
  }
  // An error to a SNAT address quoting a port outside the range: the quote's pair.
  const Bytes below = tcp("198.19.0.2", "198.19.7.80", 1000, 443);
  EXPECT_EQ(owner(icmp_error("198.19.5.5", "198.19.0.2", 3, below)), owner(below));
}

TEST_F(RoutedOwner, TheDnsForwardersQueryAndAnswerMeet) {
  // The client asks the appliance's inside address; the forwarder sends it on to the resolver.
  for (int client = 1; client < 40; ++client) {
    const std::string c = "198.18.1." + std::to_string(client + 9);
    const uint16_t w = owner(udp(c.c_str(), "198.18.1.1", 33000, 53));
    EXPECT_EQ(owner(tcp(c.c_str(), "198.18.1.1", 33000, 53)), w);
    // The forwarded query is judged by w; without SNAT toward the resolver it answers the client.
    EXPECT_EQ(owner(udp("198.19.7.53", c.c_str(), 53, 33000)), w);
    // With SNAT toward the resolver it answers the SNAT port w chose.
    EXPECT_EQ(owner(udp("198.19.7.53", "198.19.0.2", 53, snat_port_of(w, 4, 9))), w);
  }
}

TEST_F(RoutedOwner, TheHealthProbeAndTheKernelServicesAnswerOnTheirWorker) {
  // The probe (or a kernel service) asked from the inside and from the outside; the answer
  // comes from the appliance's address (the router's, or the tap's kernel).
  struct Exchange { const char* asker; const char* appliance; };
  for (const Exchange& e : {Exchange{"198.18.1.50", "198.18.1.1"}, Exchange{"198.19.7.7", "198.19.0.1"},
                            Exchange{"198.19.7.7", "198.19.0.2"}, Exchange{"2001:db8:1::50", "2001:db8:1::1"},
                            Exchange{"2001:db8:9::7", "2001:db8:2::1"}}) {
    EXPECT_EQ(owner(tcp(e.asker, e.appliance, 41000, 22)), owner(tcp(e.appliance, e.asker, 22, 41000))) << e.asker;
    EXPECT_EQ(owner(tcp(e.asker, e.appliance, 41000, 8080)), owner(tcp(e.appliance, e.asker, 8080, 41000))) << e.asker;
    // Ping: an echo request to the appliance and its reply (the reply to the asker is not to a
    // SNAT address; a request to one is not a return packet).
    EXPECT_EQ(owner(icmp(e.asker, e.appliance, 8, 0x12340001)), owner(icmp(e.appliance, e.asker, 0, 0x12340001))) << e.asker;
  }
  // The kernel's own connection out (from its outside address, below the SNAT range) and back.
  EXPECT_EQ(owner(tcp("198.19.0.2", "198.19.7.80", 1000, 443)), owner(tcp("198.19.7.80", "198.19.0.2", 443, 1000)));
}

TEST_F(RoutedOwner, HairpinsBetweenInsideHostsMeet) {
  for (uint16_t workers : {2, 4}) {
    EXPECT_EQ(owner(tcp("198.18.1.10", "198.18.2.20", 40000, 80), workers),
              owner(tcp("198.18.2.20", "198.18.1.10", 80, 40000), workers));
    EXPECT_EQ(owner(udp("2001:db8:1::10", "2001:db8:1::20", 40000, 80), workers),
              owner(udp("2001:db8:1::20", "2001:db8:1::10", 80, 40000), workers));
  }
}

TEST_F(RoutedOwner, EveryFragmentFollowsItsFlow) {
  Bytes whole = ether(ip_packet(ip("198.18.1.10"), ip("198.19.7.80"), kIpProtoUdp, udp_segment(40000, 443, Bytes(64, 'x'))));
  Bytes later = whole;
  later[20] = 0x00;
  later[21] = 5;  // offset 40 bytes, last fragment
  for (size_t at = 34; at < later.size(); ++at) later[at] = 0xee;  // no ports in it
  EXPECT_EQ(owner(later), owner(whole));
  // The first fragment of a translated answer carries its port: the translating worker.
  const uint16_t w = owner(whole);
  Bytes first = udp("198.19.7.80", "198.19.0.2", 443, snat_port_of(w, 4));
  first[20] = 0x20;  // more fragments, offset 0
  EXPECT_EQ(owner(first), w);
  // IPv6: a fragment header before UDP; the first fragment reads through it.
  Bytes udp6 = ip_packet(ip("2001:db8:9::80"), ip("2001:db8:2::2"), kIpProtoUdp, udp_segment(443, snat_port_of(w, 4)));
  Bytes fragmented(udp6.begin(), udp6.begin() + 40);
  fragmented[6] = 44;
  fragmented.insert(fragmented.end(), {17, 0, 0x00, 0x01, 0, 0, 0, 7});  // offset 0, more fragments
  fragmented.insert(fragmented.end(), udp6.begin() + 40, udp6.end());
  EXPECT_EQ(owner(ether(fragmented)), w);
}

// IPv6 `packet` (fixed header first) with extension headers of `kinds` (each 8 bytes, a
// destination options / hop-by-hop / routing header, or a first fragment's header) inserted
// between the fixed header and its transport header.
Bytes with_extension_headers(const Bytes& packet, std::initializer_list<uint8_t> kinds) {
  Bytes out(packet.begin(), packet.begin() + 40);
  const uint8_t transport = packet[6];
  std::vector<uint8_t> chain(kinds);
  out[6] = chain.front();
  for (size_t i = 0; i < chain.size(); ++i) {
    const uint8_t next = i + 1 < chain.size() ? chain[i + 1] : transport;
    if (chain[i] == 44) out.insert(out.end(), {next, 0, 0x00, 0x01, 0, 0, 0, 9});  // offset 0, more fragments
    else if (chain[i] == 43) out.insert(out.end(), {next, 0, 2, 0, 0, 0, 0, 0});   // type 2, no segments left
    else out.insert(out.end(), {next, 0, 1, 4, 0, 0, 0, 0});                       // PadN of 4
  }
  out.insert(out.end(), packet.begin() + 40, packet.end());
  const uint16_t payload = uint16_t(out.size() - 40);
  out[4] = uint8_t(payload >> 8);
  out[5] = uint8_t(payload);
  return ether(out);
}

// The SNAT translator's parser walks IPv6 extension headers (hop-by-hop, routing, destination
// options, fragment, AH) to the ports it translates by; the owner rule must read the same port,
// or the answer reaches a worker without its binding and is dropped snat_no_binding there.
TEST_F(RoutedOwner, SnatAnswersWithIpv6ExtensionHeadersReachTheWorkerThatTranslated) {
  for (uint16_t w = 0; w < 4; ++w) {
    const uint16_t port = snat_port_of(w, 4, 5);
    const Bytes tcp6 = ip_packet(ip("2001:db8:9::80"), ip("2001:db8:2::2"), kIpProtoTcp, tcp_segment(443, port));
    for (auto kinds : {std::initializer_list<uint8_t>{60}, std::initializer_list<uint8_t>{0},
                       std::initializer_list<uint8_t>{0, 60}, std::initializer_list<uint8_t>{43},
                       std::initializer_list<uint8_t>{60, 44}})
      EXPECT_EQ(owner(with_extension_headers(tcp6, kinds)), w) << "first header " << int(*kinds.begin());
    // An echo reply and a router's error about a translated packet, behind a destination option.
    const Bytes reply = ip_packet(ip("2001:db8:9::80"), ip("2001:db8:2::2"), kIpProtoIcmpv6,
                                  icmp_message(129, 0, uint32_t(port) << 16 | 1, {}));
    EXPECT_EQ(owner(with_extension_headers(reply, {60})), w);
    const Bytes sent6 = tcp("2001:db8:2::2", "2001:db8:9::80", port, 443);
    const Bytes error = icmp_error("2001:db8:5::5", "2001:db8:2::2", 3, sent6);
    EXPECT_EQ(owner(with_extension_headers(Bytes(error.begin() + 14, error.end()), {60})), w);
  }
}

TEST_F(RoutedOwner, NeighbourProtocolsAndNonIpGoToWorkerZero) {
  Bytes arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(owner(arp), 0);
  for (uint8_t type = 133; type <= 137; ++type)
    EXPECT_EQ(owner(icmp("2001:db8:1::10", "2001:db8:1::1", type, 0)), 0) << int(type);
  Bytes tagged = tcp("198.18.1.10", "198.19.7.80", 40000, 443);
  tagged[12] = 0x81;
  tagged[13] = 0x00;
  EXPECT_EQ(owner(tagged), 0);
}

TEST_F(RoutedOwner, InsideHostsSpreadOverTheWorkers) {
  for (uint16_t workers : {2, 3, 4}) {
    std::vector<int> per_worker(workers);
    for (int host = 0; host < 2000; ++host) {
      const std::string h = "198.18." + std::to_string(1 + host / 250 % 2) + "." + std::to_string(host % 250 + 2);
      const std::string s = "198.19." + std::to_string(host / 500 + 10) + ".80";
      ++per_worker[owner(tcp(h.c_str(), s.c_str(), 40000, 443), workers)];
    }
    for (int count : per_worker) EXPECT_GT(count, 2000 / workers / 2) << workers << " workers";
  }
}

TEST_F(RoutedOwner, CutFramesAreReadWithinTheirEnd) {
  const std::vector<Bytes> frames = {
      tcp("198.18.1.10", "198.19.7.80", 40000, 443),
      tcp("198.19.7.80", "198.19.0.2", 443, 25000),
      icmp_error("198.19.5.5", "198.19.0.2", 11, tcp("198.19.0.2", "198.19.7.80", 25000, 443)),
      icmp_error("2001:db8:5::5", "2001:db8:2::2", 1, tcp("2001:db8:2::2", "2001:db8:9::80", 25000, 443)),
  };
  for (const Bytes& frame : frames)
    for (size_t length = 0; length <= frame.size(); ++length) {
      const Bytes cut(frame.begin(), frame.begin() + long(length));
      EXPECT_LT(owner(cut, 3), 3) << length;
      if (length < 14 + 20) {
        EXPECT_EQ(owner(cut, 3), 0) << length;
      }
    }
  // No tables (not routed yet): worker 0.
  RoutedOwnerRules none;
  none.workers = 4;
  const Bytes frame = frames[0];
  EXPECT_EQ(routed_owner(frame.data(), uint32_t(frame.size()), none), 0);
}

}  // namespace
}  // namespace sluice
