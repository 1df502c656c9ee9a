#include "dataplane/flow/dns_pending_queries.h"

#include <gtest/gtest.h>

#include <string>

#include "controlplane/policy/cidr.h"

namespace sluice {
namespace {

DnsTransaction transaction(uint16_t id, std::string_view name = "pypi.org", uint16_t client_port = 5353) {
  DnsTransaction t;
  t.client = *parse_ip("198.18.1.10");
  t.resolver = *parse_ip("198.19.255.53");
  t.client_port = client_port;
  t.resolver_port = 53;
  t.protocol = 17;
  t.id = id;
  t.query_type = 1;
  t.query_class = 1;
  t.name = name;
  return t;
}

TEST(DnsPendingQueries, AnAnswerTakesItsQueryOnce) {
  DnsPendingQueries pending;
  pending.init(16, 100);
  EXPECT_FALSE(pending.remember(transaction(1), 10));
  EXPECT_EQ(pending.take(transaction(1), 20), DnsAnswerMatch::answered);
  EXPECT_EQ(pending.take(transaction(1), 21), DnsAnswerMatch::no_query);
}

TEST(DnsPendingQueries, AnotherIdPortOrQuestionIsNoAnswer) {
  DnsPendingQueries pending;
  pending.init(16, 100);
  pending.remember(transaction(1), 10);
  EXPECT_EQ(pending.take(transaction(2), 20), DnsAnswerMatch::no_query);
  EXPECT_EQ(pending.take(transaction(1, "pypi.org", 5354), 20), DnsAnswerMatch::no_query);
  EXPECT_EQ(pending.take(transaction(1, "attacker.example"), 20), DnsAnswerMatch::question_differs);
  EXPECT_EQ(pending.take(transaction(1), 20), DnsAnswerMatch::answered);  // still pending after the forgery
}

TEST(DnsPendingQueries, AnAnswerAfterTheDeadlineIsLate) {
  DnsPendingQueries pending;
  pending.init(16, 100);
  pending.remember(transaction(1), 10);
  EXPECT_EQ(pending.take(transaction(1), 200), DnsAnswerMatch::late);
  EXPECT_EQ(pending.take(transaction(1), 201), DnsAnswerMatch::no_query);
}

TEST(DnsPendingQueries, AFullTableForgetsItsOldestQueries) {
  DnsPendingQueries pending;
  pending.init(1, 1000);  // one set of kWays ways
  constexpr uint16_t kWays = DnsPendingQueries::kWays;
  ASSERT_EQ(pending.capacity(), kWays);
  for (uint16_t id = 1; id <= kWays; ++id) EXPECT_FALSE(pending.remember(transaction(id), id));
  EXPECT_TRUE(pending.remember(transaction(kWays + 1), kWays + 1));
  EXPECT_EQ(pending.take(transaction(1), 100), DnsAnswerMatch::no_query);  // the oldest went
  for (uint16_t id = 2; id <= kWays + 1; ++id) EXPECT_EQ(pending.take(transaction(id), 100), DnsAnswerMatch::answered);
}

}  // namespace
}  // namespace sluice
