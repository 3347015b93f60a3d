// The native runner: the packet core's sequence (core/sl_sequence.h) over a plain buffer, with
// an environment of one reputation entry, one flow slot, one caps entry for the client's address
// and one for its network, a fixed clock and a fixed random number. The fixture table, the fuzzer
// and the benches run the product sequence through it.
#include "core/native_pipeline.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace sluice::testing {
namespace {

struct NativeEnv {
  sl_stats stats;
  const std::optional<sl_rep_value> *rep;
  bool has_flow;
  bool no_flow_room;  // sl_env_flow_insert fails
  sl_flow_state flow;
  uint32_t rnd;
  uint32_t table_gen;
  NativeHeavy *heavy;  // null: SYNs not counted
  uint64_t now_ns;
  // Caps entries: [0] the client's address, [1] its network (one client per packet, so one
  // entry of each kind is the whole table).
  bool cap_used[2];
  sl_cap_entry cap[2];
  // The whole frame's length: the sequence is given the readable part's and asks for this one
  // only when it needs it (SL_ENV_FRAME_LEN), as the XDP program does.
  uint32_t frame_len;
  // The flow's held tarpit ACK (one flow, so one slot), and whether the packet is one sent
  // through again.
  bool replayed;
  std::optional<std::vector<uint8_t>> held;
  std::vector<sl_heavy_key> events;  // sl_env_event, in order
  sl_fanout_table *fanout;           // the heavy state's, or one fresh for the packet
};

}  // namespace
}  // namespace sluice::testing

#define SL_ENV sluice::testing::NativeEnv
#define SL_ENV_FLOW sl_flow_state

SL_INLINE sl_stats *sl_env_stats(SL_ENV *env) {
  return &env->stats;
}

SL_INLINE void sl_env_rep_lookup(SL_ENV *env, const sl_flow_key *, sl_rep_value *out) {
  if (env->rep->has_value()) *out = **env->rep;
}

// One slot: the fixture's flow_before is the flow of the fixture's 5-tuple.
SL_INLINE sl_flow_state *sl_env_flow_find(SL_ENV *env, const sl_flow_key *) {
  return env->has_flow ? &env->flow : nullptr;
}

SL_INLINE sl_flow_state *sl_env_flow_state(sl_flow_state *flow) {
  return flow;
}

SL_INLINE int sl_env_flow_insert(SL_ENV *env, const sl_flow_key *, const sl_flow_state *st) {
  if (env->no_flow_room) return -1;
  env->flow = *st;
  env->has_flow = true;
  return 0;
}

SL_INLINE void sl_env_flow_touch(SL_ENV *, sl_flow_state *) {}

SL_INLINE __u64 sl_env_now(SL_ENV *env) {
  return env->now_ns;
}

SL_INLINE __u32 sl_env_random(SL_ENV *env) {
  return env->rnd;
}

SL_INLINE __u32 sl_env_table_gen(SL_ENV *env) {
  return env->table_gen;
}

SL_INLINE sl_heavy_sketch *sl_env_heavy(SL_ENV *env) {
  return env->heavy != nullptr ? env->heavy->sketch.get() : nullptr;
}

SL_INLINE void sl_env_heavy_report(SL_ENV *env, const sl_heavy_key *key, __u32 estimate,
                                   __u32 epoch) {
  env->heavy->reports++;
  sl_heavy_table_offer(env->heavy->table.get(), key, estimate, epoch);
}

SL_INLINE sl_greet_table *sl_env_greet(SL_ENV *env) {
  return env->heavy != nullptr ? env->heavy->greet.get() : nullptr;
}

SL_INLINE sl_fanout_table *sl_env_fanout(SL_ENV *env) {
  return env->fanout;
}

// Events are kept for the result, and go to the candidate table as sluice-dp's (when there is
// one).
SL_INLINE void sl_env_event(SL_ENV *env, const sl_heavy_key *k) {
  env->events.push_back(*k);
  if (env->heavy == nullptr) return;
  sl_heavy_table_event_in(env->heavy->table.get(),
                          sl_heavy_table_bucket(env->heavy->table.get(), k), k,
                          sl_heavy_epoch(env->now_ns));
}

SL_INLINE sl_cap_entry *sl_env_cap_entry(SL_ENV *env, const sl_heavy_key *key, int create) {
  const unsigned i = sl_heavy_is_net(key);
  if (!env->cap_used[i]) {
    if (!create) return nullptr;
    env->cap_used[i] = true;
    std::memset(&env->cap[i], 0, sizeof(env->cap[i]));
  }
  return &env->cap[i];
}

#define SL_ENV_FRAME_LEN 1
SL_INLINE __u32 sl_env_frame_len(SL_ENV *env) {
  return env->frame_len;
}

SL_INLINE int sl_env_replayed(SL_ENV *env) {
  return env->replayed ? 1 : 0;
}

SL_INLINE void sl_env_tarpit_hold(SL_ENV *env, const sl_flow_key *, const void *data, __u32 len) {
  const auto *b = static_cast<const uint8_t *>(data);
  env->held = std::vector<uint8_t>(b, b + len);
}

SL_INLINE void sl_env_tarpit_unhold(SL_ENV *env, const sl_flow_key *) {
  env->held.reset();
}

#include "core/sl_sequence.h"

namespace sluice::testing {

NativeHeavy::NativeHeavy(uint64_t seed)
    : sketch(std::make_unique<sl_heavy_sketch>()),
      table(std::make_unique<sl_heavy_table>()),
      greet(std::make_unique<sl_greet_table>()),
      fanout(std::make_unique<sl_fanout_table>()) {
  std::memset(sketch.get(), 0, sizeof(*sketch));
  std::memset(fanout.get(), 0, sizeof(*fanout));
  fanout->seed = seed ^ SL_FANOUT_SEED_XOR;
  std::memset(table.get(), 0, sizeof(*table));
  std::memset(greet.get(), 0, sizeof(*greet));
  greet->seed = seed ^ SL_GREET_SEED_XOR;
  sketch->seed = seed;
  table->seed = seed ^ SL_HEAVY_TABLE_SEED_XOR;
}

namespace {

FixtureResult run_native_env(const std::vector<uint8_t> &input, sl_dir dir, const sl_policy &policy,
                             const std::optional<sl_rep_value> &client_rep,
                             const std::optional<sl_flow_state> &flow_before, uint32_t rnd,
                             size_t readable, NativeHeavy *heavy, const NativeState &caps) {
  FixtureResult r;
  // The readable part in an exactly sized heap copy: ASan reports any access past it. The rest
  // of the frame stays in `input`, out of the core's reach, as fragments are.
  const size_t frame_len = input.size();
  const size_t n = std::min(readable, frame_len);
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n == 0 ? 1 : n]);
  if (n > 0) std::memcpy(buf.get(), input.data(), n);
  void *data = buf.get();
  void *data_end = buf.get() + n;

  NativeEnv env;
  std::memset(&env.stats, 0, sizeof(env.stats));
  env.rep = &client_rep;
  env.has_flow = flow_before.has_value();
  env.no_flow_room = caps.no_flow_room;
  env.flow = flow_before.value_or(sl_flow_state{});
  env.rnd = rnd;
  env.table_gen = kNativeTableGeneration;
  env.heavy = heavy;
  env.now_ns = heavy != nullptr ? heavy->now_ns : 1;
  const std::optional<sl_cap_entry> *seeds[2] = {&caps.host, &caps.net};
  for (int i = 0; i < 2; i++) {
    env.cap_used[i] = seeds[i]->has_value();
    env.cap[i] = seeds[i]->value_or(sl_cap_entry{});
  }
  env.replayed = caps.replayed;
  env.held = caps.held;
  env.frame_len = static_cast<uint32_t>(frame_len);
  // Without heavy state, each packet has its own fan-out slots, as a data plane just started
  // has (every pair new); only a policy with outbound ports reads them.
  std::unique_ptr<sl_fanout_table> own_fanout;
  if (heavy == nullptr && policy.out_ports[0] != 0)
    own_fanout = std::make_unique<sl_fanout_table>();
  env.fanout = heavy != nullptr ? heavy->fanout.get() : own_fanout.get();

  sl_seq_out out{};
  r.verdict =
      sl_seq_run(&env, data, data_end, static_cast<uint32_t>(n), dir, &policy, &r.cls, &out);
  {
    // What sl_parse_frame says of the input (a copy: the sequence may have rewritten buf).
    sl_pkt pkt;
    std::unique_ptr<uint8_t[]> copy(new uint8_t[n == 0 ? 1 : n]);
    if (n > 0) std::memcpy(copy.get(), input.data(), n);
    r.parse_result =
        sl_parse_frame(copy.get(), copy.get() + n, static_cast<uint32_t>(frame_len), &pkt);
  }
  if (r.verdict == SL_VERDICT_DROP) {
    r.output.clear();
  } else if (r.verdict == SL_VERDICT_TX) {  // the reply, trimmed (fragments and all)
    r.output.assign(buf.get(), buf.get() + std::min<size_t>(out.tx_len, n));
  } else {  // the readable part as the core left it, then the rest untouched
    r.output.assign(buf.get(), buf.get() + n);
    r.output.insert(r.output.end(), input.begin() + static_cast<std::ptrdiff_t>(n), input.end());
  }
  const bool has_key =
      r.cls == SL_CLASS_CLIENT_SYN || r.cls == SL_CLASS_CLIENT_SEG || r.cls == SL_CLASS_SERVER_SEG;
  // A packet of a server outside the scope leaves a flow it had (from before the scope was
  // narrowed) as it was: reported, as the data planes' tables still hold it.
  if ((has_key || env.stats.out_of_scope != 0) && env.has_flow) r.flow_after = env.flow;
  r.stats = env.stats;
  if (env.cap_used[0]) r.state_after.host = env.cap[0];
  if (env.cap_used[1]) r.state_after.net = env.cap[1];
  r.state_after.held = env.held;
  r.events = std::move(env.events);
  return r;
}

}  // namespace

std::string event_text(const sl_heavy_key &k) {
  static const char *const kKinds[] = {"syn", "pregreet", "shaped", "blocked", "fanout"};
  char addr[INET6_ADDRSTRLEN] = {};
  inet_ntop(k.family == SL_AF_INET ? AF_INET : AF_INET6, k.addr, addr, sizeof(addr));
  const std::string kind = k.kind < 5 ? kKinds[k.kind] : "kind" + std::to_string(k.kind);
  return kind + " " + std::to_string(k.level) + " " + addr;
}

std::string events_text(const std::vector<sl_heavy_key> &events) {
  std::string out;
  for (const sl_heavy_key &k : events) out += (out.empty() ? "" : "; ") + event_text(k);
  return out;
}

std::string expected_events_text(const CoreFixture &f) {
  if (!f.expected_event) return "";
  // The IP version after the Ethernet header and any VLAN tags.
  size_t off = 12;
  while (off + 2 <= f.input.size() && ((f.input[off] == 0x81 && f.input[off + 1] == 0x00) ||
                                       (f.input[off] == 0x88 && f.input[off + 1] == 0xa8)))
    off += 4;
  const bool v6 = off + 2 <= f.input.size() && f.input[off] == 0x86 && f.input[off + 1] == 0xdd;
  sl_heavy_key k{};
  k.family = v6 ? SL_AF_INET6 : SL_AF_INET;
  inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? kClient6 : kClient4, k.addr);
  k.kind = f.expected_event->kind;
  k.level = f.expected_event->level;
  return event_text(k);
}

FixtureResult run_native_packet(const std::vector<uint8_t> &input, sl_dir dir,
                                const sl_policy &policy,
                                const std::optional<sl_rep_value> &client_rep,
                                const std::optional<sl_flow_state> &flow_before, uint32_t rnd,
                                size_t readable, const NativeState &caps) {
  return run_native_env(input, dir, policy, client_rep, flow_before, rnd, readable, nullptr, caps);
}

bool prime_greeting_slot(NativeHeavy &heavy, const std::vector<uint8_t> &input, sl_dir dir,
                         const sl_policy &policy) {
  std::vector<uint8_t> copy(input);  // sl_parse_frame takes a writable buffer
  sl_pkt pkt;
  if (copy.empty() || sl_parse_frame(copy.data(), copy.data() + copy.size(),
                                     static_cast<uint32_t>(copy.size()), &pkt) != SL_PARSE_OK)
    return false;
  const sl_class cls = sl_classify(&pkt, copy.data() + copy.size(), dir, &policy);
  // A subscriber's outbound connection has no greeting test to prime (sl_seq_greet).
  if (cls != SL_CLASS_CLIENT_SEG || pkt.outbound != 0) return false;
  sl_flow_key key;
  sl_flow_key_make(&pkt, cls, &key);
  const uint32_t ack = sl_load_be32(reinterpret_cast<const uint8_t *>(pkt.tcp) + 8);
  sl_greet_record(heavy.greet.get(), sl_greet_hash(heavy.greet->seed, &key), ack - 1);
  return true;
}

std::pair<NativeClassified, NativeClassified> classify_native_both_ways(
    const std::vector<uint8_t> &input, sl_dir dir, const sl_policy &policy, size_t readable) {
  const size_t n = std::min(readable, input.size());
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n == 0 ? 1 : n]);
  if (n > 0) std::memcpy(buf.get(), input.data(), n);
  uint8_t *end = buf.get() + n;
  auto classify = [&](bool common_first) {
    NativeEnv env{};
    env.frame_len = static_cast<uint32_t>(input.size());
    NativeClassified c;
    std::memset(&c.pkt, 0xa5, sizeof(c.pkt));
    const auto readable_len = static_cast<uint32_t>(n);
    c.cls =
        common_first
            ? sl_seq_classify_common_first(&env, buf.get(), end, readable_len, dir, &policy, &c.pkt)
            : sl_seq_classify(&env, buf.get(), end, readable_len, dir, &policy, &c.pkt);
    c.stats = env.stats;
    return c;
  };
  NativeClassified general = classify(false);
  return {general, classify(true)};
}

FixtureResult run_native_counted(NativeHeavy &heavy, const std::vector<uint8_t> &input, sl_dir dir,
                                 const sl_policy &policy) {
  return run_native_env(input, dir, policy, std::nullopt, std::nullopt, 0x9e3779b9u, SIZE_MAX,
                        &heavy, NativeState{});
}

FixtureResult run_native(const CoreFixture &fixture, uint32_t rnd) {
  const sl_policy policy = fixture_policy(fixture.policy);
  return run_native_packet(fixture.input, fixture.dir, policy, fixture.client_rep,
                           seeded_flow(fixture, kNativeTableGeneration + policy.generation), rnd,
                           SIZE_MAX,
                           NativeState{fixture.cap_host_before, fixture.cap_net_before, false,
                                       fixture.replayed, fixture.held_before});
}

std::optional<sl_flow_state> seeded_flow(const CoreFixture &fixture, uint32_t generation) {
  if (!fixture.flow_before) return std::nullopt;
  sl_flow_state st = *fixture.flow_before;
  st.gen = fixture.generation_changed ? generation - 1 : generation;
  return st;
}

uint32_t expected_flow_generation(const CoreFixture &fixture, uint32_t generation) {
  if (fixture.flow_untouched && fixture.flow_before) return seeded_flow(fixture, generation)->gen;
  return generation;
}

std::string core_counter_diff(const sl_stats &runner, const sl_stats &native) {
  struct Field {
    std::string name;
    uint64_t a, b;
  };
  std::vector<Field> fields = {
      {"smtp[outside]", runner.smtp[0], native.smtp[0]},
      {"smtp[inside]", runner.smtp[1], native.smtp[1]},
      {"malformed", runner.malformed, native.malformed},
      {"lookups", runner.lookups, native.lookups},
      {"flow_table_full", runner.flow_table_full, native.flow_table_full},
      {"stale_level", runner.stale_level, native.stale_level},
      {"frag_smtp", runner.frag_smtp, native.frag_smtp},
      {"frag_later", runner.frag_later, native.frag_later},
      {"unseen", runner.unseen, native.unseen},
      {"unseen_dropped", runner.unseen_dropped, native.unseen_dropped},
      {"relookups", runner.relookups, native.relookups},
      {"level_changes", runner.level_changes, native.level_changes},
      {"out_of_scope", runner.out_of_scope, native.out_of_scope},
      {"tarpit_synacks", runner.tarpit_synacks, native.tarpit_synacks},
      {"tarpit_acks", runner.tarpit_acks, native.tarpit_acks},
      {"tarpit_silent", runner.tarpit_silent, native.tarpit_silent},
      {"caps_rate", runner.caps_rate, native.caps_rate},
      {"caps_flows", runner.caps_flows, native.caps_flows},
      {"caps_evicted", runner.caps_evicted, native.caps_evicted},
      {"tarpit_held", runner.tarpit_held, native.tarpit_held},
      {"tarpit_released", runner.tarpit_released, native.tarpit_released},
      {"pregreet", runner.pregreet, native.pregreet},
  };
  for (int i = 0; i < SL_MAX_LEVELS; i++) {
    const sl_level_stats &a = runner.level[i], &b = native.level[i];
    const std::string l = "level[" + std::to_string(i) + "].";
    fields.push_back({l + "syns", a.syns, b.syns});
    fields.push_back({l + "flows", a.flows, b.flows});
    fields.push_back({l + "rewritten", a.rewritten, b.rewritten});
    fields.push_back({l + "dropped", a.dropped, b.dropped});
    fields.push_back({l + "rst_sent", a.rst_sent, b.rst_sent});
    fields.push_back({l + "observed", a.observed, b.observed});
  }
  for (const Field &f : fields) {
    if (f.a != f.b)
      return std::string(f.name) + ": runner " + std::to_string(f.a) + ", native " +
             std::to_string(f.b);
  }
  return "";
}

}  // namespace sluice::testing
