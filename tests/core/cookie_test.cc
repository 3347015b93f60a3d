// The stateless tarpit's cookies (core/sl_cookie.h): a cookie validates on the flow it was made
// for and on no other, and gives back the client's next sequence number from any segment within
// a window around it, without state. The wire behaviour (SYN-ACK, probes, release) is in the
// fixture table's "stateless tarpit" rows.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/sl_core.h"

namespace sluice::testing {
namespace {

sl_policy keyed(std::mt19937 &rng) {
  sl_policy p;
  std::memset(&p, 0, sizeof(p));
  for (uint32_t &w : p.cookie_key) w = rng();
  return p;
}

sl_flow_key random_key(std::mt19937 &rng, bool v6) {
  sl_flow_key k;
  std::memset(&k, 0, sizeof(k));
  for (int i = 0; i < (v6 ? 16 : 4); i++) {
    k.client[i] = static_cast<uint8_t>(rng());
    k.server[i] = static_cast<uint8_t>(rng());
  }
  k.client_port = static_cast<__be16>(rng());
  k.server_port = sl_htons(25);
  k.family = v6 ? SL_AF_INET6 : SL_AF_INET;
  return k;
}

// Every segment from 127 below to 128 above the acknowledged point recovers that point, for
// any client ISN (the low byte included) and any key.
TEST(Cookie, RecoversTheClientsNextSequenceNumberNearIt) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; round++) {
    const sl_policy p = keyed(rng);
    const sl_flow_key k = random_key(rng, round % 2 == 1);
    const uint32_t client_isn = rng();
    const uint32_t isn = sl_cookie_isn(&p, &k, client_isn);
    const uint32_t una = client_isn + 1;
    EXPECT_EQ(isn & SL_COOKIE_LOW_MASK, una & SL_COOKIE_LOW_MASK);
    for (int d = -127; d <= 128; d++) {
      uint32_t got = 0;
      ASSERT_EQ(sl_cookie_check(&p, &k, una + static_cast<uint32_t>(d), isn + 1, &got), 1);
      EXPECT_EQ(got, una) << "segment " << d << " from the acknowledged point";
    }
  }
}

// An ACK one bit off in the hashed part, or the right ACK on another flow or under another key,
// is not a cookie.
TEST(Cookie, ValidatesOnlyItsOwnFlowAndKey) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; round++) {
    const sl_policy p = keyed(rng);
    const sl_flow_key k = random_key(rng, round % 2 == 0);
    const uint32_t isn = sl_cookie_isn(&p, &k, rng());
    uint32_t una = 0;
    for (int bit = 8; bit < 32; bit++)
      EXPECT_EQ(sl_cookie_check(&p, &k, 1000, (isn ^ (1u << bit)) + 1, &una), 0) << bit;

    sl_flow_key other = k;
    other.client_port = static_cast<__be16>(other.client_port ^ 1);
    EXPECT_EQ(sl_cookie_check(&p, &other, 1000, isn + 1, &una), 0);
    other = k;
    other.client[3] ^= 0x80;
    EXPECT_EQ(sl_cookie_check(&p, &other, 1000, isn + 1, &una), 0);
    other = k;
    other.server[0] ^= 1;
    EXPECT_EQ(sl_cookie_check(&p, &other, 1000, isn + 1, &una), 0);
    other = k;
    other.server_port = sl_htons(587);
    EXPECT_EQ(sl_cookie_check(&p, &other, 1000, isn + 1, &una), 0);

    sl_policy rekeyed = p;
    rekeyed.cookie_key[round % 4] ^= 1u << (round % 32);
    EXPECT_EQ(sl_cookie_check(&rekeyed, &k, 1000, isn + 1, &una), 0);
  }
}

// tarpit_cookies: only levels in use count.
TEST(Cookie, PolicyHasCookiesOnlyWithAStatelessLevelInUse) {
  sl_policy p;
  std::memset(&p, 0, sizeof(p));
  p.nlevels = 3;
  EXPECT_EQ(sl_policy_tarpit_cookies(&p), 0u);
  p.profiles[2].tarpit = SL_TARPIT_SERVER;
  EXPECT_EQ(sl_policy_tarpit_cookies(&p), 0u);
  p.profiles[3].tarpit = SL_TARPIT_STATELESS;  // beyond nlevels
  EXPECT_EQ(sl_policy_tarpit_cookies(&p), 0u);
  p.profiles[2].tarpit = SL_TARPIT_STATELESS;
  EXPECT_EQ(sl_policy_tarpit_cookies(&p), 1u);
}

}  // namespace
}  // namespace sluice::testing
