// [metrics] and [decision_log] of sluiced.ini: defaults, values, and clear refusals.
#include "obs/obs_config.h"

#include <gtest/gtest.h>

#include <sstream>

namespace sluice::sluiced::obs {
namespace {

ObsConfig read(const std::string &text) {
  ConfigSchema schema;
  describe_obs_config(schema);
  std::istringstream in(text);
  return read_obs_config(schema.parse(in, "sluiced.ini"));
}

std::string refusal(const std::string &text) {
  try {
    read(text);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(ObsConfig, DefaultsServeLoopbackAndLogToAuto) {
  const ObsConfig c = read("");
  EXPECT_TRUE(c.metrics.enabled);
  EXPECT_EQ(c.metrics.listen.text(), "127.0.0.1:9477");
  EXPECT_EQ(c.metrics.limits.max_clients, 16u);
  EXPECT_EQ(c.metrics.limits.deadline, std::chrono::seconds(5));
  EXPECT_TRUE(c.decision_log.enabled);
  EXPECT_EQ(c.decision_log.sink, "auto");
  EXPECT_EQ(c.decision_log.poll_interval, std::chrono::seconds(1));
  EXPECT_EQ(c.decision_log.log.limits.summary_interval, std::chrono::seconds(60));
}

TEST(ObsConfig, ValuesAreRead) {
  const ObsConfig c = read(
      "[metrics]\nlisten = [::1]:9100\nmax_clients = 4\nrequest_timeout = 250ms\n"
      "max_request_bytes = 1024\nmax_headers = 8\nstats_interval = 2s\n"
      "[decision_log]\nenabled = false\nsink = file:/var/log/sluice/decisions.log\n"
      "poll_interval = 500ms\nflows_per_poll = 100\nper_sender_rate = 0.5\n"
      "per_sender_burst = 2\noverall_rate = 10\noverall_burst = 20\nsummary_interval = 5m\n"
      "max_senders = 100\nmax_remembered_flows = 1000\n");
  EXPECT_EQ(c.metrics.listen.host, "::1");
  EXPECT_EQ(c.metrics.listen.port, 9100);
  EXPECT_EQ(c.metrics.limits.max_clients, 4u);
  EXPECT_EQ(c.metrics.limits.deadline, std::chrono::milliseconds(250));
  EXPECT_EQ(c.metrics.limits.http.max_head_bytes, 1024u);
  EXPECT_EQ(c.metrics.limits.http.max_headers, 8u);
  EXPECT_FALSE(c.decision_log.enabled);
  EXPECT_EQ(c.decision_log.sink, "file:/var/log/sluice/decisions.log");
  EXPECT_EQ(c.decision_log.flows_per_poll, 100u);
  EXPECT_DOUBLE_EQ(c.decision_log.log.limits.per_sender_rate, 0.5);
  EXPECT_EQ(c.decision_log.log.limits.summary_interval, std::chrono::minutes(5));
  EXPECT_EQ(c.decision_log.log.max_remembered_flows, 1000u);
}

TEST(ObsConfig, ANonLoopbackAddressNeedsItsOwnKey) {
  EXPECT_NE(refusal("[metrics]\nlisten = 0.0.0.0:9477\n")
                .find("metrics.listen: 0.0.0.0:9477 is "
                      "not a loopback address"),
            std::string::npos);
  EXPECT_EQ(
      read("[metrics]\nlisten = 0.0.0.0:9477\nallow_non_loopback = true\n").metrics.listen.host,
      "0.0.0.0");
  // Disabled, the address is not served, so it is not refused.
  EXPECT_FALSE(read("[metrics]\nenabled = false\nlisten = 198.18.0.1:1\n").metrics.enabled);
}

TEST(ObsConfig, BadValuesAreRefusedNamingTheirKey) {
  EXPECT_NE(refusal("[metrics]\nlisten = localhost:9477\n").find("metrics.listen:"),
            std::string::npos);
  EXPECT_NE(refusal("[metrics]\nmax_clients = 0\n").find("metrics.max_clients:"),
            std::string::npos);
  EXPECT_NE(refusal("[metrics]\nmax_clients = lots\n").find("metrics.max_clients:"),
            std::string::npos);
  EXPECT_NE(refusal("[metrics]\nenabled = maybe\n").find("metrics.enabled:"), std::string::npos);
  EXPECT_NE(refusal("[metrics]\nrequest_timeout = 0\n").find("metrics.request_timeout:"),
            std::string::npos);
  EXPECT_NE(refusal("[decision_log]\nsink = stderr\n").find("decision_log.sink:"),
            std::string::npos);
  EXPECT_NE(refusal("[decision_log]\nper_sender_rate = -1\n").find("decision_log.per_sender_rate:"),
            std::string::npos);
  EXPECT_NE(refusal("[decision_log]\noverall_burst = 0.5\n").find("decision_log.overall_burst:"),
            std::string::npos);
  EXPECT_NE(
      refusal("[decision_log]\nsummary_interval = 10ms\n").find("decision_log.summary_interval:"),
      std::string::npos);
  EXPECT_NE(refusal("[metrics]\nunknown_key = 1\n"), "accepted");
}

}  // namespace
}  // namespace sluice::sluiced::obs
