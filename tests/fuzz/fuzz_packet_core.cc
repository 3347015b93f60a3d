// libFuzzer target over the packet core: the product sequence (dataplane/core/sl_sequence.h)
// in the native environment (tests/core/native_pipeline.cc), on an exactly sized heap copy of
// the frame, under each fixture policy. Invariants beyond ASan/UBSan:
//   - a packet the core leaves alone (OTHER, or no state) comes out byte-identical;
//   - a TCP segment whose checksum was valid on the way in is valid on the way out (and the
//     IPv4 header checksum of an RST reply is valid);
//   - running the output through again with the same state changes nothing (idempotence);
//   - a frame whose headers the core can read decides alike whether it reads all of the frame
//     or only a first part of it (the rest in fragments: XDP multi-buffer);
//   - a held tarpit ACK is a prefix of the frame as it arrived; one sent through again (a
//     replay) is never emitted while its flow is still tarpitted;
//   - the pregreet test changes no packet and no counter but its own, and counts a client
//     segment with payload whose greeting slot says so exactly once (below);
//   - a frame sl_classify_plain_other lets through without the general parser (XDP's common path)
//     is one the whole sequence finds OTHER, counts nothing for and leaves alone;
//   - sl_seq_classify_common_first (sluice-dp's classification) gives every frame the class and
//     counts sl_seq_classify gives it, and, for an SMTP class, the same parse.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "fuzz_input.h"

using namespace sluice::testing;

namespace {

[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

bool is_ipv4_frame(const std::vector<uint8_t> &f) {
  size_t off = 12;
  while (off + 2 <= f.size()) {
    const unsigned type = static_cast<unsigned>(f[off] << 8 | f[off + 1]);
    if (type != 0x8100 && type != 0x88a8) return type == 0x0800;
    off += 4;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < kFuzzHeaderSize) return 0;
  const sl_policy policy =
      fixture_policy(static_cast<FixturePolicy>(fuzz_policy_index(data) % kFixturePolicies));
  const sl_dir dir = (data[0] & 1) ? SL_DIR_FROM_INSIDE : SL_DIR_FROM_OUTSIDE;
  const bool stateless = (data[1] & 0x80) != 0;
  const bool changed = (data[1] & 0x40) != 0;
  // The frame is its flow's held tarpit ACK, sent through again (sl_env_replayed): runners
  // replay frames only as arriving from inside.
  NativeState state;
  if ((data[1] & 0x20) != 0 && dir == SL_DIR_FROM_INSIDE) {
    state.replayed = true;
    state.held = std::vector<uint8_t>(data + kFuzzHeaderSize, data + size);
  }
  const uint32_t level = (data[1] & 0x07) % SL_MAX_LEVELS;
  uint32_t rnd;
  std::memcpy(&rnd, data + 2, sizeof(rnd));
  const std::vector<uint8_t> frame(data + kFuzzHeaderSize, data + size);

  std::optional<sl_rep_value> rep;
  std::optional<sl_flow_state> flow;
  if (!stateless) {
    rep = sl_rep_value{level < policy.nlevels ? policy.thresholds[level] : 0, 0};
    sl_flow_state st;
    std::memset(&st, 0, sizeof(st));
    st.level = static_cast<uint8_t>(level);
    st.flags = static_cast<uint8_t>((data[0] >> 1) & 0x0f);
    st.client_wscale = 0xff;
    st.server_wscale = 0xff;
    const uint32_t generation = kNativeTableGeneration + policy.generation;
    st.gen = changed ? generation - 1 : generation;
    flow = st;
  }

  // A quarter of the inputs: the core reads only part of the frame, the rest as if in fragments
  // (XDP multi-buffer), cut at a point the random number picks, never within the first 64 bytes
  // (Ethernet, VLAN tags and the fixed IP header: sl_parse_frame).
  size_t readable = SIZE_MAX;
  if ((rnd >> 30) == 3 && frame.size() > 64)
    readable = frame.size() - ((rnd >> 16) & 0x3fff) % (frame.size() - 64 + 1);
  const FixtureResult once = run_native_packet(frame, dir, policy, rep, flow, rnd, readable, state);

  // The pregreet test (core/sl_greet.h) changes no packet: the frame through the counted runner
  // with the test on and, in a twin kept alike, off (greeting slots and candidate table kept
  // across inputs, so a SYN-ACK meets later segments) gives the same verdict, bytes and counters
  // but pregreet. With byte 1's bit 4, the frame's greeting slot is primed first: a client
  // segment with payload is then a pregreet, counted once.
  {
    static NativeHeavy on_state(1), off_state(1);
    sl_policy on = policy, off = policy;
    on.pregreet = 1;
    off.pregreet = 0;
    const bool primed = (data[1] & 0x10) != 0 && prime_greeting_slot(on_state, frame, dir, on);
    const FixtureResult a = run_native_counted(on_state, frame, dir, on);
    const FixtureResult b = run_native_counted(off_state, frame, dir, off);
    if (a.verdict != b.verdict || a.output != b.output) fail("the pregreet test changed a packet");
    sl_stats sa = a.stats;
    sa.pregreet = 0;
    if (std::memcmp(&sa, &b.stats, sizeof(sa)) != 0) fail("the pregreet test changed a counter");
    if (b.stats.pregreet != 0) fail("a pregreet counted with the test off");
    if (a.stats.pregreet > 1) fail("one segment counted as two pregreets");
    sl_pkt pkt;
    std::vector<uint8_t> copy(frame);
    const bool payload = !copy.empty() &&
                         sl_parse_frame(copy.data(), copy.data() + copy.size(),
                                        static_cast<uint32_t>(copy.size()), &pkt) == SL_PARSE_OK &&
                         pkt.payload_len > 0;
    if (primed && payload && a.cls == SL_CLASS_CLIENT_SEG && a.stats.pregreet != 1)
      fail("a primed client segment with payload is no pregreet");
  }

  if (once.cls == SL_CLASS_OTHER && once.output != frame) fail("OTHER packet modified");
  if (once.cls == SL_CLASS_UNSEEN &&
      once.verdict != (policy.unseen_tcp == SL_UNSEEN_PASS ? SL_VERDICT_PASS : SL_VERDICT_DROP))
    fail("UNSEEN packet not handled as unseen_tcp says");
  if (once.cls == SL_CLASS_UNSEEN && once.verdict == SL_VERDICT_PASS && once.output != frame)
    fail("UNSEEN packet modified");
  if (once.stats.stale_level != 0 && once.output != frame) fail("stale flow's packet modified");
  if ((once.cls == SL_CLASS_CLIENT_SEG || once.cls == SL_CLASS_SERVER_SEG) && once.flow_after &&
      once.flow_after->level == 0 && once.output != frame)
    fail("released flow's packet modified");
  // (A replay the core drops is the data plane's own copy of an ACK it forwarded before:
  // nothing off the wire is lost.)
  const bool replay_dropped = state.replayed && once.verdict == SL_VERDICT_DROP;
  if (once.cls != SL_CLASS_UNSEEN && once.output != frame && !replay_dropped) {
    bool observing = true;  // every level of the policy observes
    for (uint32_t l = 1; l < policy.nlevels; l++)
      observing = observing && policy.profiles[l].observe;
    if (observing && policy.nlevels > 1) fail("observing policy modified a packet");
  }
  // A flow the packet used or made carries the current generation. A SYN that passes at level 0,
  // or is dropped or answered, leaves an older connection's flow on its 5-tuple as it was: that
  // flow's next segment looks its sender up again, and a lookup per clean SYN to find it would
  // cost every legitimate connection. An OTHER packet (not SMTP, or a server outside the scope
  // since a policy change) reads no flow state at all, so it leaves the flow as it found it.
  bool syn_made_flow = false;
  for (uint32_t l = 0; l < SL_MAX_LEVELS; l++)
    syn_made_flow = syn_made_flow || once.stats.level[l].flows != 0;
  const bool flow_used =
      once.cls != SL_CLASS_OTHER && (once.cls != SL_CLASS_CLIENT_SYN || syn_made_flow);
  if (once.flow_after && flow_used &&
      once.flow_after->gen != kNativeTableGeneration + policy.generation)
    fail("flow left with another generation's level");
  // From inside, only a policy with [outbound] watches a port (a subscriber's SYN in tiny
  // fragments must not pass an outbound block).
  if (once.cls == SL_CLASS_UNSEEN && dir != SL_DIR_FROM_OUTSIDE && policy.out_ports[0] == 0)
    fail("UNSEEN from inside without [outbound]");
  if (!state.replayed && once.stats.tarpit_held != 0) {
    const std::vector<uint8_t> &h = *once.state_after.held;
    if (h.empty() || h.size() > SL_HELD_FRAME_MAX || h.size() > frame.size() ||
        !std::equal(h.begin(), h.end(), frame.begin()))
      fail("held ACK is not the frame as it arrived");
  }
  // (Runners send a replay through only while it classifies as a server segment: an ACK the
  // policy no longer watches is forgotten by them, not sent.)
  if (state.replayed && once.cls == SL_CLASS_SERVER_SEG && once.verdict != SL_VERDICT_DROP &&
      once.flow_after) {
    const uint32_t l = once.flow_after->level;
    if (l != 0 && l < policy.nlevels && policy.profiles[l].tarpit != SL_TARPIT_NONE &&
        policy.profiles[l].block == SL_BLOCK_NONE && policy.profiles[l].observe == 0)
      fail("held ACK sent on while its flow is still tarpitted");
  }
  if (once.verdict == SL_VERDICT_DROP && !once.output.empty()) fail("DROP emitted bytes");
  if ((once.verdict == SL_VERDICT_PASS || once.verdict == SL_VERDICT_DELAY) &&
      once.output.size() != frame.size())
    fail("forwarded packet changed length");
  if (once.verdict == SL_VERDICT_TX && (once.output.empty() || once.output.size() > frame.size()))
    fail("RST reply length");

  const bool rewritten = once.cls != SL_CLASS_OTHER && !once.output.empty();
  if (rewritten && tcp_checksum_ok(frame)) {
    if (!tcp_checksum_ok(once.output)) fail("valid TCP checksum in, invalid out");
  }
  if (once.verdict == SL_VERDICT_TX) {
    if (!tcp_checksum_ok(once.output)) fail("RST reply with a bad TCP checksum");
    if (is_ipv4_frame(once.output) && !ipv4_checksum_ok(once.output))
      fail("RST reply with a bad IPv4 checksum");
  }

  if (once.verdict == SL_VERDICT_PASS || once.verdict == SL_VERDICT_DELAY) {
    const FixtureResult twice =
        run_native_packet(once.output, dir, policy, rep, flow, rnd, readable, state);
    if (twice.output != once.output) fail("rewriting twice differs from once");
    if (twice.cls != once.cls || twice.verdict != once.verdict)
      fail("second pass decided otherwise");
  }

  {
    std::vector<uint8_t> copy(frame);
    sl_pkt pkt;
    uint8_t *end = copy.data() + std::min(readable, copy.size());
    if (!copy.empty() && sl_classify_plain_other(copy.data(), end, dir, &policy, &pkt) != 0) {
      if (once.cls != SL_CLASS_OTHER) fail("sl_classify_plain_other let an SMTP frame through");
      const sl_stats none{};
      if (std::memcmp(&once.stats, &none, sizeof(none)) != 0)
        fail("sl_classify_plain_other let through a frame the sequence counts");
      if (once.output != frame)
        fail("sl_classify_plain_other let through a frame the core changes");
    }
  }

  {
    const auto [general, common] = classify_native_both_ways(frame, dir, policy, readable);
    if (common.cls != general.cls)
      fail("sl_seq_classify_common_first classified otherwise than sl_seq_classify");
    if (std::memcmp(&common.stats, &general.stats, sizeof(general.stats)) != 0)
      fail("sl_seq_classify_common_first counted otherwise than sl_seq_classify");
    if (general.cls != SL_CLASS_OTHER &&
        std::memcmp(&common.pkt, &general.pkt, sizeof(general.pkt)) != 0)
      fail("sl_seq_classify_common_first parsed otherwise than sl_seq_classify");
  }

  // Where the frame is cut decides nothing while the headers are readable: the same packet read
  // whole is classified, decided and rewritten alike (a block cannot be escaped by padding a
  // SYN past the readable part).
  if (readable < frame.size() && once.parse_result != SL_PARSE_UNSEEN) {
    const FixtureResult whole =
        run_native_packet(frame, dir, policy, rep, flow, rnd, SIZE_MAX, state);
    if (whole.cls != once.cls || whole.verdict != once.verdict)
      fail("a frame cut short decided otherwise than whole");
    if (whole.output != once.output) fail("a frame cut short came out otherwise than whole");
  }
  return 0;
}
