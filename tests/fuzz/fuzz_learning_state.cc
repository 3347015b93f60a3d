// sluiced's learning state file parser (control/sluiced/learn/learn_state.h) on arbitrary bytes:
// the file is read at every start, and a damaged one must be refused, never crash the daemon.
// Checks, besides memory safety:
//   a refusal names the file and a line ("seed:N: reason");
//   what parses writes back (format_state) to text that parses to the same records, and
//   writing that again gives the same text;
//   the records restore into a small model without breaking its bound.
// Seeds: tests/fuzz/seeds/learning_state.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "learn_state.h"

using namespace sluice::sluiced::learn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view in(reinterpret_cast<const char *>(data), size);
  std::vector<SavedRecord> recs;
  try {
    recs = parse_state(in, "seed");
  } catch (const StateError &e) {
    if (std::string_view(e.what()).rfind("seed:", 0) != 0) std::abort();
    return 0;
  }
  const std::string text = format_state(recs);
  const auto again = parse_state(text, "again");
  if (again.size() != recs.size() || format_state(again) != text) std::abort();
  for (size_t i = 0; i < recs.size(); ++i)
    if (again[i].kind != recs[i].kind || again[i].record.count != recs[i].record.count ||
        again[i].record.evidence != recs[i].record.evidence)
      std::abort();
  ModelSettings s;
  s.max_addresses = 4;
  LocalModel m(s);
  m.restore(recs, 1764000000000);
  if (m.addresses() > 4) std::abort();
  m.evaluate(1764000000000);
  (void)m.next_change();
  return 0;
}
