// Where the fullest SNAT destinations a worker published show up: /metrics (a bounded family by
// rank, the fullest destination's ratio over its family's ports, the untracked count) and
// `sluicectl stats` (text and --json). Bridge mode (nothing published) shows no such lines.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "controlplane/daemon/metrics_exporter.h"
#include "controlplane/policy/cidr.h"
#include "controlplane/records/run_summary.h"

namespace sluice {
namespace {

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern, std::regex::multiline));
}

TEST(SnatDestinationReport, MetricsAndStatsShowTheFullestDestinations) {
  auto counters = std::make_unique<WorkerCounters>();
  SnatTopDestinations top;
  top.offer({*parse_ip("198.19.0.80"), 443, 6, 40});
  top.offer({*parse_ip("2001:db8:9::53"), 53, 17, 4});
  publish_top_destinations(counters->snat_top_destinations, top, 3);
  MetricsView view;
  view.workers = {counters.get()};
  view.flow_capacity = {64};
  view.snat_addresses = {"198.19.200.5", "198.19.200.6", "2001:db8:200::5"};
  view.snat_range_ports = 100;
  const std::string metrics = render_metrics(view);
  EXPECT_TRUE(has_line(metrics, R"(^sluice_snat_destination_ports_in_use\{rank="1",destination="198\.19\.0\.80:443/tcp"\} 40$)"))
      << metrics;
  EXPECT_TRUE(has_line(metrics, R"(^sluice_snat_destination_ports_in_use\{rank="2",destination="\[2001:db8:9::53\]:53/udp"\} 4$)"));
  EXPECT_TRUE(has_line(metrics, R"(^sluice_snat_fullest_destination_ratio 0\.2$)"));  // 40 of 100 ports × 2 IPv4 addresses
  EXPECT_TRUE(has_line(metrics, R"(^sluice_snat_untracked_destination_bindings 3$)"));

  FlowEventSink sink(FlowEventSinkOptions{});
  const RunSummary summary = summarize(view.workers, {}, sink);
  ASSERT_EQ(summary.snat_top_destinations.size(), 2u);
  EXPECT_EQ(summary.snat_top_destinations[0].first, "198.19.0.80:443/tcp");
  EXPECT_EQ(summary.snat_top_destinations[0].second, 40u);
  std::ostringstream text;
  summary.print(text);
  EXPECT_NE(text.str().find("ports in use by destination"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("40  198.19.0.80:443/tcp"), std::string::npos) << text.str();
  EXPECT_NE(summary.to_json().find(R"("snat_top_destinations":[{"destination":"198.19.0.80:443/tcp","ports_in_use":40})"),
            std::string::npos)
      << summary.to_json();
}

TEST(SnatDestinationReport, NothingPublishedShowsNoDestinations) {
  auto counters = std::make_unique<WorkerCounters>();
  MetricsView view;
  view.workers = {counters.get()};
  view.flow_capacity = {64};
  const std::string metrics = render_metrics(view);
  EXPECT_FALSE(has_line(metrics, "^sluice_snat_destination_ports_in_use\\{"));
  EXPECT_TRUE(has_line(metrics, R"(^sluice_snat_fullest_destination_ratio 0$)"));
  FlowEventSink sink(FlowEventSinkOptions{});
  const RunSummary summary = summarize(view.workers, {}, sink);
  EXPECT_TRUE(summary.snat_top_destinations.empty());
  std::ostringstream text;
  summary.print(text);
  EXPECT_EQ(text.str().find("ports in use by destination"), std::string::npos);
  EXPECT_EQ(summary.to_json().find("snat_top_destinations"), std::string::npos);
}

}  // namespace
}  // namespace sluice
