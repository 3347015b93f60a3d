// libFuzzer target: the feed's batch parser and verifier (docs/feed.md sections 1-2) and the
// trust model behind them. The first input byte picks the mode:
//   even: the rest is a whole message (header line + body) checked as it came off the wire;
//   odd:  the rest is a body, signed here with the fixed test key of "isp-a", so the body parser,
//         the replay and freshness checks and the trust model are reached.
// Beyond the sanitizers it checks that an accepted batch re-encodes to a body that parses to the
// same batch, that every refusal is counted once, and that the trust model's contributions stay
// within the participant's cap.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "feed/codec.h"
#include "feed/keys.h"
#include "feed/trust.h"
#include "feed/verifier.h"

namespace {
using namespace sluice::feed;

constexpr int64_t kNow = 1764500000000;

[[noreturn]] void fail(const char *what) {
  fprintf(stderr, "fuzz_feed_batch: %s\n", what);
  abort();
}

const KeyPair &test_key() {
  static const KeyPair k = [] {
    std::array<uint8_t, 32> seed;
    seed.fill(0x5a);
    return keypair_from_seed(seed);
  }();
  return k;
}

TrustConfig trust() {
  TrustConfig c;
  ParticipantTrust p;
  p.name = "isp-a";
  p.key = test_key().pub;
  p.cap = 20;
  p.max_entries = 64;
  c.participants.push_back(p);
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const bool sign_here = data[0] & 1;
  const std::string rest(reinterpret_cast<const char *>(data + 1), size - 1);
  Verifier v;
  v.set_key("isp-a", test_key().pub);
  v.restore_sequence("isp-a", 5);
  std::string message;
  if (sign_here) {
    try {
      message = seal("isp-a", rest, test_key().secret);
    } catch (const sluice::Error &) {
      return 0;  // over the size limit
    }
  } else {
    message = rest;
  }
  auto got = v.check("sluice.obs.isp-a", message, kNow);
  uint64_t refused = 0;
  for (size_t i = 0; i < kRefusalCount; ++i) refused += v.refused(static_cast<Refusal>(i));
  if (auto *r = std::get_if<Refusal>(&got)) {
    if (refused != 1 || v.refused(*r) != 1 || v.accepted_batches() != 0)
      fail("refusal not counted once");
    if (v.sequences().at("isp-a") != 5) fail("a refused batch moved the sequence");
    return 0;
  }
  const Batch &b = std::get<Batch>(got);
  if (refused != 0 || v.sequences().at("isp-a") != b.seq || b.seq <= 5) fail("accepted badly");
  if (!b.observations.empty()) {
    Batch copy = b;
    auto again = parse_body(encode_body(copy));
    const Batch *c = std::get_if<Batch>(&again);
    if (!c || c->seq != b.seq || c->observations.size() != b.observations.size())
      fail("accepted batch does not round-trip");
    for (size_t i = 0; i < b.observations.size(); ++i)
      if (!(c->observations[i].subject == b.observations[i].subject) ||
          c->observations[i].count != b.observations[i].count ||
          c->observations[i].kind != b.observations[i].kind)
        fail("observation changed in the round trip");
  }
  TrustModel m(trust());
  m.apply(b, kNow);
  if (m.entries() > 64) fail("max_entries not held");
  for (const Contribution &c : m.contributions(kNow))
    if (c.weight > 20 || c.weight < -20) fail("cap not held");
  m.table_sources(kNow, 0);
  return 0;
}
