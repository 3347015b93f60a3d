// libFuzzer target: the feed's two files, the same bytes given to both readers.
//   The trust file (docs/feed.md section 6), as an operator (or whoever can write the file) might
//   get it wrong: accepted or refused with sluice::Error, nothing else; what it accepts is in the
//   documented ranges, and the per-participant liveness built from it answers for every
//   participant.
//   The state file (TrustModel::restore): accepted or refused with sluice::Error; what it
//   accepts saves to text that restores again and saves to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "feed/liveness.h"
#include "feed/trust.h"
#include "feed/trust_file.h"

namespace {

[[noreturn]] void fail(const char *what) {
  fprintf(stderr, "fuzz_feed_trust: %s\n", what);
  abort();
}

void fuzz_state(const std::string &text) {
  using namespace sluice::feed;
  TrustModel m{TrustConfig{}};
  std::map<std::string, uint64_t> seqs;
  try {
    m.restore(text, "feed.state", seqs);
  } catch (const sluice::Error &) {
    return;
  }
  const std::string saved = m.save(seqs);
  TrustModel back{TrustConfig{}};
  std::map<std::string, uint64_t> again;
  try {
    back.restore(saved, "feed.state", again);
  } catch (const sluice::Error &) {
    fail("a saved state does not restore");
  }
  if (again != seqs || back.entries() != m.entries()) fail("restore lost something");
  if (back.save(again) != saved) fail("save is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace sluice::feed;
  const std::string text(reinterpret_cast<const char *>(data), size);
  fuzz_state(text);
  TrustConfig cfg;
  try {
    cfg = parse_trust_text(text, "trust.ini");
  } catch (const sluice::Error &) {
    return 0;
  }
  if (cfg.participants.empty()) fail("accepted a file without participants");
  if (cfg.quorum < 1) fail("quorum below 1");
  for (const auto &p : cfg.participants) {
    if (!valid_participant(p.name)) fail("accepted a bad participant name");
    if (!(p.weight >= 0 && p.weight <= 10)) fail("weight out of range");
    if (p.cap < 0) fail("negative cap");
    if (p.half_life_ms < 1000) fail("half_life below 1 s");
    if (p.max_entries < 1) fail("max_entries below 1");
    if (p.max_silence_ms != 0 && p.max_silence_ms < 1000) fail("max_silence below 1 s");
  }
  const int64_t start = 1764500000000;
  Liveness l(cfg, start);
  l.accepted(cfg.participants.front().name, start, 1, start + 10);
  const auto v = l.view(start + 3600000);
  if (v.size() != cfg.participants.size()) fail("liveness lost a participant");
  if (v.front().batches != 1) fail("liveness lost a batch");
  return 0;
}
