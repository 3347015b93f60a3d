// sluiced.ini: every key of [sluiced] and [source.NAME] read, unknown keys and bad values
// refused with "FILE: reason", concerns' sections added without touching the loader.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "daemon/config.h"
#include "daemon/module.h"
#include "daemon/sluiced_config.h"

namespace sluice::sluiced {
namespace {

using ::testing::HasSubstr;

SluicedConfig load(const std::string &text) {
  SluicedConfig cfg;
  std::vector<std::unique_ptr<Module>> none;
  std::istringstream in(text);
  load_config(in, "sluiced.ini", cfg, none);
  return cfg;
}

std::string error_of(const std::string &text) {
  try {
    load(text);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "no error";
}

TEST(SluicedConfig, DefaultsWithoutAnyKey) {
  const SluicedConfig c = load("");
  EXPECT_EQ(c.state_dir, "/var/lib/sluice");
  EXPECT_EQ(c.socket, "/run/sluice/sluiced.sock");
  EXPECT_EQ(c.socket_mode, 0660u);
  EXPECT_FALSE(c.socket_group);
  EXPECT_TRUE(c.sources.empty());
  EXPECT_TRUE(c.dataplanes.empty());
  EXPECT_EQ(c.refresh_interval, std::chrono::minutes(5));
  EXPECT_EQ(c.max_shrink, 50);
  EXPECT_EQ(c.max_age.count(), 0);
}

TEST(SluicedConfig, ReadsEveryKey) {
  const SluicedConfig c = load(
      "[sluiced]\nstate_dir = /tmp/st\nsocket = /tmp/s.sock\nsocket_mode = 0600\n"
      "socket_group = 0\nsources = /etc/sluice/sources.ini\nrefresh_interval = 30s\n"
      "check_interval = 500ms\nsettle = 5ms\ndataplane = dpdk:/run/a.sock\ndataplane = xdp:edge0\n"
      "dataplane_timeout = 1s\npolicy = /etc/sluice/policy.ini\nmax_shrink = 20%\nmax_age = 2h\n"
      "[source.zen]\nmax_shrink = 90\nmax_age = 1d\n[source.drop.v6]\nmax_age = 6h\n");
  EXPECT_EQ(c.state_dir, "/tmp/st");
  EXPECT_EQ(c.socket, "/tmp/s.sock");
  EXPECT_EQ(c.socket_mode, 0600u);
  EXPECT_EQ(c.socket_group, gid_t{0});
  EXPECT_EQ(c.sources, "/etc/sluice/sources.ini");
  EXPECT_EQ(c.refresh_interval, std::chrono::seconds(30));
  EXPECT_EQ(c.check_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(c.settle, std::chrono::milliseconds(5));
  EXPECT_THAT(c.dataplanes, ::testing::ElementsAre("dpdk:/run/a.sock", "xdp:edge0"));
  EXPECT_EQ(c.dataplane_timeout, std::chrono::seconds(1));
  EXPECT_EQ(c.policy, "/etc/sluice/policy.ini");
  EXPECT_EQ(c.max_shrink_for("other"), 20);
  EXPECT_EQ(c.max_shrink_for("zen"), 90);
  EXPECT_EQ(c.max_age_for("other"), std::chrono::hours(2));
  EXPECT_EQ(c.max_age_for("zen"), std::chrono::hours(24));
  EXPECT_EQ(c.max_age_for("drop.v6"), std::chrono::hours(6));
  EXPECT_EQ(c.max_shrink_for("drop.v6"), 20);
}

TEST(SluicedConfig, UnknownKeyIsRefusedNamingFileSectionAndKey) {
  EXPECT_EQ(error_of("[sluiced]\nstate_dri = /tmp\n"),
            "sluiced.ini: unknown key 'state_dri' in section [sluiced]");
  EXPECT_EQ(error_of("[slueced]\nstate_dir = /tmp\n"),
            "sluiced.ini: unknown key 'state_dir' in section [slueced]");
  EXPECT_EQ(error_of("state_dir = /tmp\n"),
            "sluiced.ini: unknown key 'state_dir' outside any section");
  EXPECT_THAT(error_of("[source.zen]\nmax_shrunk = 5\n"),
              HasSubstr("sluiced.ini: unknown key 'max_shrunk' in section [source.zen]"));
}

// Boost's INI parser never sees a line it would refuse: its message for one that holds its own
// placeholder ("%invalid_line%") never finished formatting (the fuzzer's hang).
TEST(SluicedConfig, ABadLineIsRefusedWithItsNumber) {
  EXPECT_EQ(error_of("[sluiced]\n%invalid_line%\n"),
            "sluiced.ini: line 2: neither \"key = value\" nor \"[section]\"");
  EXPECT_EQ(error_of("[sluiced]\n= /tmp\n"), "sluiced.ini: line 2: a value without a key");
}

TEST(SluicedConfig, BadValuesAreRefusedWithTheKey) {
  EXPECT_THAT(error_of("[sluiced]\nrefresh_interval = soon\n"),
              HasSubstr("sluiced.ini: sluiced.refresh_interval: 'soon' is not a duration"));
  EXPECT_THAT(error_of("[sluiced]\nrefresh_interval = -5s\n"),
              HasSubstr("sluiced.refresh_interval"));
  EXPECT_THAT(error_of("[sluiced]\nrefresh_interval = 100ms\n"), HasSubstr("at least 1s"));
  EXPECT_THAT(error_of("[sluiced]\nsocket_mode = 0999\n"),
              HasSubstr("sluiced.socket_mode: '0999' is not a permission mode"));
  EXPECT_THAT(error_of("[sluiced]\nsocket_group = no-such-group-here\n"),
              HasSubstr("sluiced.socket_group: no group named"));
  EXPECT_THAT(error_of("[sluiced]\nmax_shrink = 150\n"),
              HasSubstr("sluiced.max_shrink: '150' is not a percentage"));
  EXPECT_THAT(error_of("[sluiced]\ndataplane = tcp:1.2.3.4\n"),
              HasSubstr("is not dpdk:SOCKET_PATH or xdp:INSTANCE_NAME"));
  EXPECT_THAT(error_of("[sluiced]\ndataplane = xdp:a\ndataplane = xdp:a\n"),
              HasSubstr("listed twice"));
  EXPECT_THAT(error_of("[sluiced]\nstate_dir = /a\nstate_dir = /b\n"),
              HasSubstr("given more than once"));
  EXPECT_THAT(error_of("[source.zen]\nmax_age = 1h\nmax_age = 2h\n"),
              HasSubstr("given more than once"));
  EXPECT_THAT(error_of("[sluiced]\nsocket = /" + std::string(200, 'x') + "\n"),
              HasSubstr("longer than a Unix socket address allows"));
  EXPECT_THAT(error_of("[sluiced\nstate_dir = /a\n"), HasSubstr("sluiced.ini: "));
}

class StoreLike : public Module {
 public:
  std::string module_name() const override { return "store"; }
  void describe_config(ConfigSchema &s) override {
    po::options_description d("[store]");
    d.add_options()("store.path", po::value<std::string>());
    s.add_section(d);
  }
  void configure(const po::variables_map &vm) override {
    if (vm.count("store.path") && vm["store.path"].as<std::string>().empty())
      throw ConfigError("store.path: empty");
    configured = true;
  }
  bool configured = false;
};

TEST(SluicedConfig, ModulesDeclareAndCheckTheirSections) {
  std::vector<std::unique_ptr<Module>> mods;
  mods.push_back(std::make_unique<StoreLike>());
  SluicedConfig cfg;
  std::istringstream ok("[store]\npath = /x.db\n");
  load_config(ok, "m.ini", cfg, mods);
  EXPECT_TRUE(static_cast<StoreLike &>(*mods[0]).configured);
  std::istringstream bad("[store]\npath =\n");
  try {
    load_config(bad, "m.ini", cfg, mods);
    ADD_FAILURE() << "empty store.path accepted";
  } catch (const ConfigError &e) {
    EXPECT_STREQ(e.what(), "m.ini: store.path: empty");
  }
  std::istringstream unknown("[store]\npth = x\n");
  EXPECT_THROW(load_config(unknown, "m.ini", cfg, mods), ConfigError);
}

TEST(SluicedConfig, ConcernsAddTheirOwnSections) {
  SluicedConfig cfg;
  ConfigSchema schema;
  describe_sluiced_config(schema, cfg);
  po::options_description store("[store]");
  store.add_options()("store.path", po::value<std::string>());
  schema.add_section(store);
  std::istringstream in("[store]\npath = /var/lib/sluice/dynamic.db\n[sluiced]\nsettle = 1s\n");
  const auto vm = schema.parse(in, "x.ini");
  EXPECT_EQ(vm["store.path"].as<std::string>(), "/var/lib/sluice/dynamic.db");
  std::istringstream bad("[store]\npth = x\n");
  EXPECT_THROW(schema.parse(bad, "x.ini"), ConfigError);
}

TEST(SluicedConfig, DurationsRoundTrip) {
  EXPECT_EQ(parse_duration("250ms", "k"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("7", "k"), std::chrono::seconds(7));
  EXPECT_EQ(parse_duration("3m", "k"), std::chrono::minutes(3));
  EXPECT_EQ(format_duration(std::chrono::minutes(3)), "3m");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1500ms");
  EXPECT_THROW(parse_duration("", "k"), ConfigError);
  EXPECT_THROW(parse_duration("1x", "k"), ConfigError);
  EXPECT_THROW(parse_duration("99999999999999d", "k"), ConfigError);
}

}  // namespace
}  // namespace sluice::sluiced
