// The server scope (core/sl_scope.h, [smtp] servers): which server addresses are in it, and the
// whole fixture table run again under a scope that holds its servers (nothing changes) and one
// that does not (every SMTP packet becomes OTHER, untouched and counted).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "core/test_util.h"

namespace sluice::testing {
namespace {

// In scope: the server of a TCP segment from `src` to `dst` (from outside: dst; from inside,
// the segment reversed: src), under `pol`.
bool in_scope(const sl_policy &pol, const std::string &client, const std::string &server,
              sl_dir dir) {
  PacketBuilder b;
  const bool v6 = client.find(':') != std::string::npos;
  if (dir == SL_DIR_FROM_OUTSIDE) {
    v6 ? b.ipv6(client, server) : b.ipv4(client, server);
    b.tcp(kClientPort, kSmtpPort);
  } else {
    v6 ? b.ipv6(server, client) : b.ipv4(server, client);
    b.tcp(kSmtpPort, kClientPort);
  }
  ExactBuffer buf(b.flags(kAck).build());
  sl_pkt pkt;
  EXPECT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
  return sl_server_in_scope(&pol, &pkt, buf.end(), dir) != 0;
}

sl_policy scoped(std::initializer_list<std::pair<const char *, unsigned>> prefixes) {
  sl_policy p = fixture_policy();
  for (const auto &[a, len] : prefixes) add_server_prefix(p, a, len);
  return p;
}

TEST(ServerScope, NoPrefixWatchesEveryServer) {
  const sl_policy p = fixture_policy();
  EXPECT_TRUE(in_scope(p, kClient4, "203.0.113.5", SL_DIR_FROM_OUTSIDE));
  EXPECT_TRUE(in_scope(p, kClient6, "2001:db8::5", SL_DIR_FROM_INSIDE));
}

TEST(ServerScope, TheServerIsTheDestinationFromOutsideAndTheSourceFromInside) {
  const sl_policy p = scoped({{"198.18.2.0", 24}});
  EXPECT_TRUE(in_scope(p, "198.18.1.10", "198.18.2.25", SL_DIR_FROM_OUTSIDE));
  EXPECT_TRUE(in_scope(p, "198.18.1.10", "198.18.2.25", SL_DIR_FROM_INSIDE));
  // The client's address in the prefix does not bring the connection in.
  EXPECT_FALSE(in_scope(p, "198.18.2.10", "198.18.3.25", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p, "198.18.2.10", "198.18.3.25", SL_DIR_FROM_INSIDE));
}

TEST(ServerScope, OnlyIpv4PrefixesLeaveEveryIpv6ServerOut) {
  const sl_policy p = scoped({{"0.0.0.0", 0}});
  EXPECT_TRUE(in_scope(p, kClient4, "203.0.113.5", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p, kClient6, kServer6, SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p, kClient6, kServer6, SL_DIR_FROM_INSIDE));
  const sl_policy v6 = scoped({{"::", 0}});
  EXPECT_TRUE(in_scope(v6, kClient6, "2001:db8::5", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(v6, kClient4, kServer4, SL_DIR_FROM_INSIDE));
}

TEST(ServerScope, PrefixLengthsAreExactToTheBit) {
  // A /31 holds .24 and .25 and nothing else; the neighbours on either side are out.
  const sl_policy p4 = scoped({{"198.18.2.24", 31}});
  for (const char *in : {"198.18.2.24", "198.18.2.25"})
    EXPECT_TRUE(in_scope(p4, kClient4, in, SL_DIR_FROM_OUTSIDE)) << in;
  for (const char *out : {"198.18.2.23", "198.18.2.26", "199.18.2.24", "198.18.2.152"})
    EXPECT_FALSE(in_scope(p4, kClient4, out, SL_DIR_FROM_OUTSIDE)) << out;
  // IPv6: a bit in the low half (a /127), a bit in the high half (a /33), a host (/128).
  const sl_policy p6 = scoped({{"2001:2::24", 127}});
  EXPECT_TRUE(in_scope(p6, kClient6, "2001:2::25", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p6, kClient6, "2001:2::26", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p6, kClient6, "2001:3::25", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p6, kClient6, "2001:2:0:1::25", SL_DIR_FROM_OUTSIDE));
  const sl_policy p33 = scoped({{"2001:2::", 33}});
  EXPECT_TRUE(in_scope(p33, kClient6, "2001:2:7fff:ffff::1", SL_DIR_FROM_INSIDE));
  EXPECT_FALSE(in_scope(p33, kClient6, "2001:2:8000::1", SL_DIR_FROM_INSIDE));
  const sl_policy host = scoped({{"2001:2::25", 128}, {"198.18.2.25", 32}});
  EXPECT_TRUE(in_scope(host, kClient6, "2001:2::25", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(host, kClient6, "2001:2::24", SL_DIR_FROM_OUTSIDE));
  EXPECT_TRUE(in_scope(host, kClient4, "198.18.2.25", SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(host, kClient4, "198.18.2.24", SL_DIR_FROM_OUTSIDE));
}

TEST(ServerScope, EverySlotIsLookedAtUpToTheCount) {
  sl_policy p = fixture_policy();
  for (unsigned i = 0; i < SL_MAX_SERVER_PREFIXES; ++i) {
    const std::string a4 = "198.18." + std::to_string(100 + i) + ".0";
    const std::string a6 = "2001:2:" + std::to_string(100 + i) + "::";
    add_server_prefix(p, a4.c_str(), 24);
    add_server_prefix(p, a6.c_str(), 48);
  }
  const unsigned last = SL_MAX_SERVER_PREFIXES - 1;
  const std::string last4 = "198.18." + std::to_string(100 + last) + ".7";
  const std::string last6 = "2001:2:" + std::to_string(100 + last) + "::7";
  EXPECT_TRUE(in_scope(p, kClient4, last4, SL_DIR_FROM_OUTSIDE));
  EXPECT_TRUE(in_scope(p, kClient6, last6, SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p, kClient4, kServer4, SL_DIR_FROM_OUTSIDE));
  // A slot past the count is not looked at, whatever it holds.
  p.nservers4 = last;
  p.nservers6 = last;
  EXPECT_FALSE(in_scope(p, kClient4, last4, SL_DIR_FROM_OUTSIDE));
  EXPECT_FALSE(in_scope(p, kClient6, last6, SL_DIR_FROM_OUTSIDE));
}

// Every fixture of the standard policy again, under a scope that holds its servers: the same
// class, verdict, bytes and flow. Under a scope that does not: an SMTP packet is OTHER, forwarded
// untouched, its sender not looked up, its flow left as it was, counted out_of_scope.
class ScopedFixture : public ::testing::TestWithParam<size_t> {};

TEST_P(ScopedFixture, InScopeChangesNothingOutOfScopePassesUntouched) {
  const CoreFixture &f = core_fixtures()[GetParam()];
  ASSERT_EQ(f.policy, FixturePolicy::kStandard);
  const FixtureResult standard = run_native(f);

  CoreFixture in = f;
  in.policy = FixturePolicy::kScoped;
  const FixtureResult r = run_native(in);
  EXPECT_EQ(r.cls, standard.cls);
  EXPECT_EQ(r.verdict, standard.verdict);
  EXPECT_EQ(hex(r.output), hex(standard.output));
  expect_same_flow(r.flow_after, standard.flow_after);
  EXPECT_EQ(r.stats.out_of_scope, 0u);
  EXPECT_EQ(r.stats.smtp[f.dir], standard.stats.smtp[f.dir]);

  CoreFixture out = f;
  out.policy = FixturePolicy::kScopedOut;
  const FixtureResult o = run_native(out);
  const bool smtp = standard.cls != SL_CLASS_OTHER;
  EXPECT_EQ(o.stats.out_of_scope, smtp ? 1u : 0u);
  EXPECT_EQ(o.stats.smtp[f.dir], 0u);
  EXPECT_EQ(o.stats.lookups, 0u);
  EXPECT_EQ(o.cls, SL_CLASS_OTHER);
  if (smtp) {
    EXPECT_EQ(o.verdict, SL_VERDICT_PASS);
    EXPECT_EQ(hex(o.output), hex(f.input));
    expect_same_flow(o.flow_after, seeded_flow(out, kNativeTableGeneration));
  } else {
    EXPECT_EQ(o.verdict, standard.verdict) << "what is not SMTP is judged as before";
  }
}

std::vector<size_t> standard_fixtures() {
  std::vector<size_t> out;
  for (size_t i = 0; i < core_fixtures().size(); ++i)
    if (core_fixtures()[i].policy == FixturePolicy::kStandard) out.push_back(i);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Core, ScopedFixture, ::testing::ValuesIn(standard_fixtures()),
                         [](const ::testing::TestParamInfo<size_t> &info) {
                           return fixture_test_name(core_fixtures()[info.param].description);
                         });

}  // namespace
}  // namespace sluice::testing
