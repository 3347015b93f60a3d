// `[smtp] servers` (server_scope.h): prefixes map onto sl_policy's scope byte for byte, write
// back in the same syntax, and every bad list is refused with FILE:LINE: reason.
#include "server_scope.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>

#include "policy_file.h"

namespace sluice::dataplane {
namespace {

PolicyFile parse(const std::string &text) {
  std::istringstream in(text);
  return parse_policy(in, "test.ini");
}

std::string error_of(const std::string &text) {
  try {
    parse(text);
  } catch (const PolicyError &e) {
    return e.what();
  }
  return "";
}

PolicyFile with_servers(const std::string &list) {
  return parse("[smtp]\nports = 25\nservers = " + list + "\n");
}

uint32_t v4(const char *a) {
  uint32_t out = 0;
  EXPECT_EQ(inet_pton(AF_INET, a, &out), 1) << a;
  return out;
}

std::string v6_bytes(const __be32 words[4]) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, words, buf, sizeof(buf));
  return buf;
}

TEST(ServerScope, NoServersLineWatchesEveryServer) {
  const PolicyFile p = parse("[smtp]\nports = 25\n");
  EXPECT_EQ(p.policy.nservers4, 0u);
  EXPECT_EQ(p.policy.nservers6, 0u);
  EXPECT_EQ(format_policy(p).find("servers"), std::string::npos);
}

TEST(ServerScope, MapsPrefixesOntoTheScopeByFamilyInOrder) {
  const PolicyFile p =
      with_servers("198.18.2.0/24, 2001:2::/48,198.18.7.128/25, 2001:2:1::25, 198.18.9.9");
  const sl_policy &s = p.policy;
  ASSERT_EQ(s.nservers4, 3u);
  ASSERT_EQ(s.nservers6, 2u);
  EXPECT_EQ(s.servers4[0].addr, v4("198.18.2.0"));
  EXPECT_EQ(s.servers4[0].mask, v4("255.255.255.0"));
  EXPECT_EQ(s.servers4[1].addr, v4("198.18.7.128"));
  EXPECT_EQ(s.servers4[1].mask, v4("255.255.255.128"));
  EXPECT_EQ(s.servers4[2].addr, v4("198.18.9.9")) << "a bare address is a host";
  EXPECT_EQ(s.servers4[2].mask, v4("255.255.255.255"));
  EXPECT_EQ(v6_bytes(s.servers6[0].addr), "2001:2::");
  EXPECT_EQ(v6_bytes(s.servers6[0].mask), "ffff:ffff:ffff::");
  EXPECT_EQ(v6_bytes(s.servers6[1].addr), "2001:2:1::25");
  EXPECT_EQ(v6_bytes(s.servers6[1].mask), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  for (unsigned i = s.nservers4; i < SL_MAX_SERVER_PREFIXES; ++i)
    EXPECT_EQ(s.servers4[i].mask, 0u) << "unused slot " << i;
}

TEST(ServerScope, ZeroLengthPrefixesTakeAWholeFamily) {
  const PolicyFile p = with_servers("0.0.0.0/0");
  EXPECT_EQ(p.policy.nservers4, 1u);
  EXPECT_EQ(p.policy.servers4[0].mask, 0u);
  EXPECT_EQ(p.policy.nservers6, 0u) << "IPv6 servers are then all out of scope";
  EXPECT_EQ(with_servers("::/0").policy.nservers6, 1u);
}

TEST(ServerScope, FormatRoundTripsInCanonicalForm) {
  const PolicyFile p = with_servers("2001:0002:0000::/48, 198.18.2.0/24, 198.18.9.9");
  EXPECT_EQ(format_server_scope(p.policy), "198.18.2.0/24, 198.18.9.9/32, 2001:2::/48");
  const std::string text = format_policy(p);
  EXPECT_NE(text.find("\nservers = 198.18.2.0/24, 198.18.9.9/32, 2001:2::/48\n"), std::string::npos)
      << text;
  const PolicyFile again = parse(text);
  EXPECT_EQ(std::memcmp(&p.policy, &again.policy, sizeof(sl_policy)), 0);
}

TEST(ServerScope, TakesSixteenPrefixesOfEachFamily) {
  std::string list;
  for (unsigned i = 0; i < SL_MAX_SERVER_PREFIXES; ++i)
    list += "198.18." + std::to_string(i) + ".0/24, 2001:2:" + std::to_string(i) + "::/48, ";
  list.resize(list.size() - 2);
  const PolicyFile p = with_servers(list);
  EXPECT_EQ(p.policy.nservers4, static_cast<unsigned>(SL_MAX_SERVER_PREFIXES));
  EXPECT_EQ(p.policy.nservers6, static_cast<unsigned>(SL_MAX_SERVER_PREFIXES));
  const std::string more4 = error_of("[smtp]\nservers = " + list + ", 198.18.200.0/24\n");
  EXPECT_EQ(more4.rfind("test.ini:2: 'servers': more than 16 IPv4 server prefixes", 0), 0u)
      << more4;
  const std::string more6 = error_of("[smtp]\nservers = " + list + ", 2001:2:200::/48\n");
  EXPECT_EQ(more6.rfind("test.ini:2: 'servers': more than 16 IPv6 server prefixes", 0), 0u)
      << more6;
}

struct BadList {
  const char *what;
  const char *list;
  const char *mentions;
};

class ServerScopeBad : public ::testing::TestWithParam<BadList> {};

TEST_P(ServerScopeBad, RefusedWithFileLineReason) {
  const std::string msg = error_of(std::string("[smtp]\nports = 25\nservers = ") + GetParam().list +
                                   "\n[level.1]\nthreshold = 1\n");
  ASSERT_FALSE(msg.empty()) << GetParam().what << " was accepted";
  EXPECT_EQ(msg.rfind("test.ini:3: 'servers': ", 0), 0u) << msg;
  EXPECT_NE(msg.find(GetParam().mentions), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Refused, ServerScopeBad,
    ::testing::Values(
        BadList{"empty list", "", "no server prefix given"},
        BadList{"empty entry", "198.18.2.0/24,,2001:2::/48", "empty entry"},
        BadList{"leading comma", ", 198.18.2.0/24", "empty entry"},
        BadList{"trailing comma", "198.18.2.0/24,", "empty entry"},
        BadList{"not an address", "mx.example.org", "'mx.example.org' is not an IPv4 or IPv6"},
        BadList{"short IPv4", "198.18.2/24", "'198.18.2' is not an IPv4 or IPv6"},
        BadList{"zone index", "fe80::1%eth0", "is not an IPv4 or IPv6"},
        BadList{"space separated", "198.18.2.0/24 2001:2::/48", "separate prefixes with commas"},
        BadList{"IPv4 length too long", "198.18.2.0/33", "prefix length '33' of '198.18.2.0/33'"},
        BadList{"IPv6 length too long", "2001:2::/129", "is not 0..128"},
        BadList{"negative length", "198.18.2.0/-1", "is not 0..32"},
        BadList{"empty length", "198.18.2.0/", "prefix length ''"},
        BadList{"length with junk", "198.18.2.0/24x", "is not 0..32"},
        BadList{"two slashes", "198.18.2.0/24/8", "is not 0..32"},
        BadList{"IPv4 host bits", "198.18.2.25/24",
                "'198.18.2.25/24' has host bits set (the prefix is 198.18.2.0/24)"},
        BadList{"IPv6 host bits", "2001:2::25/64",
                "'2001:2::25/64' has host bits set (the prefix is 2001:2::/64)"},
        BadList{"duplicate", "198.18.2.0/24, 198.18.2.0/24", "198.18.2.0/24 is listed twice"},
        BadList{"duplicate in another spelling", "2001:2::/48, 2001:0002:0:0::/48",
                "2001:2::/48 is listed twice"},
        BadList{"inside one before", "198.18.0.0/15, 198.18.2.0/24",
                "198.18.2.0/24 lies inside 198.18.0.0/15, listed before"},
        BadList{"around one before", "2001:2::25, 2001:2::/48",
                "2001:2::/48 contains 2001:2::25/128, listed before"}),
    [](const auto &info) {
      std::string n = info.param.what;
      for (char &c : n)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(ServerScope, OnlyInSmtpAndOnlyOnce) {
  const std::string twice = error_of("[smtp]\nservers = 198.18.2.0/24\nservers = 2001:2::/48\n");
  EXPECT_EQ(twice.rfind("test.ini:3: duplicate key 'servers'", 0), 0u) << twice;
  const std::string level = error_of("[level.1]\nthreshold = 1\nservers = 198.18.2.0/24\n");
  EXPECT_EQ(level.rfind("test.ini:3: unknown key 'servers' in [level.1]", 0), 0u) << level;
}

TEST(ServerScope, HostileEntriesAreCutAndEscaped) {
  const std::string msg = error_of("[smtp]\nservers = \x1b[2J" + std::string(100'000, '1') + "\n");
  EXPECT_EQ(msg.rfind("test.ini:2: ", 0), 0u) << msg;
  EXPECT_LT(msg.size(), 300u);
  EXPECT_EQ(msg.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace sluice::dataplane
