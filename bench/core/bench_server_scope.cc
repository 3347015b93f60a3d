// The cost of the server scope ([smtp] servers, core/sl_scope.h) on the two paths every SMTP
// connection takes: a clean sender's SYN (parse, classify, scope, flow key, lookup that finds
// nothing, level 0) and a clean client segment (parse, classify, scope, flow key, a flow lookup
// that finds nothing), each through the product sequence (sl_seq_run) with 0, 1 and 16 IPv4
// prefixes. With 16, the server is in the last one: the longest walk an in-scope packet takes.
// "out" rows: 16 prefixes, none holding the server (the packet becomes OTHER after the walk).
// BM_CleanSegmentCookies: the clean client segment under a policy with a stateless tarpit level
// (core/sl_cookie.h: one keyed hash, no match), against BM_CleanSegment/0 (the same policy
// without it).
// Run a Release build, the cases interleaved so that load drift hits them alike:
//   bench_server_scope --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//                      --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/packet_builder.h"
#include "core/sl_core.h" /* without SL_ENV: everything but the sequence */

namespace {

// A clean sender's environment: no reputation entry, no flow, counters only.
struct BenchEnv {
  sl_stats stats;
};

}  // namespace

#define SL_ENV BenchEnv
#define SL_ENV_FLOW sl_flow_state

SL_INLINE sl_stats *sl_env_stats(BenchEnv *env) {
  return &env->stats;
}
SL_INLINE void sl_env_rep_lookup(BenchEnv *, const sl_flow_key *key, sl_rep_value *) {
  benchmark::DoNotOptimize(key);
}
SL_INLINE sl_flow_state *sl_env_flow_find(BenchEnv *, const sl_flow_key *key) {
  benchmark::DoNotOptimize(key);
  return nullptr;
}
SL_INLINE sl_flow_state *sl_env_flow_state(sl_flow_state *f) {
  return f;
}
SL_INLINE int sl_env_flow_insert(BenchEnv *, const sl_flow_key *, const sl_flow_state *) {
  return 0;
}
SL_INLINE void sl_env_flow_touch(BenchEnv *, sl_flow_state *) {}
SL_INLINE __u64 sl_env_now(BenchEnv *) {
  return 1;
}
SL_INLINE __u32 sl_env_random(BenchEnv *) {
  return 0;
}
SL_INLINE __u32 sl_env_table_gen(BenchEnv *) {
  return 1;
}
// No SYN sketch: the scope's cost is measured alone (bench_dp_heavy measures the count's).
SL_INLINE sl_heavy_sketch *sl_env_heavy(BenchEnv *) {
  return nullptr;
}
SL_INLINE void sl_env_heavy_report(BenchEnv *, const sl_heavy_key *, __u32, __u32) {}
// No pregreet test: the bench policy has none.
SL_INLINE sl_greet_table *sl_env_greet(BenchEnv *) {
  return nullptr;
}
// No outbound control in the bench policy: no fan-out.
SL_INLINE sl_fanout_table *sl_env_fanout(BenchEnv *) {
  return nullptr;
}
// Nothing is shaped in the bench policy, and it has no pregreet test: no events.
SL_INLINE void sl_env_event(BenchEnv *, const sl_heavy_key *) {}
// No caps: the bench policy has none.
SL_INLINE sl_cap_entry *sl_env_cap_entry(BenchEnv *, const sl_heavy_key *, int) {
  return nullptr;
}

// Not a replay, and no tarpit in the bench policy: nothing is held.
SL_INLINE int sl_env_replayed(BenchEnv *) {
  return 0;
}
SL_INLINE void sl_env_tarpit_hold(BenchEnv *, const sl_flow_key *, const void *, __u32) {}
SL_INLINE void sl_env_tarpit_unhold(BenchEnv *, const sl_flow_key *) {}

#include "core/sl_sequence.h"

namespace {

using sluice::testing::PacketBuilder;
namespace tcpopt = sluice::testing::tcpopt;

// The standard bench policy; `prefixes` IPv4 /24s, the last of them holding 198.18.2.25 when
// `server_in` (else none does).
sl_policy scope_policy(int prefixes, bool server_in) {
  sl_policy p;
  std::memset(&p, 0, sizeof(p));
  p.smtp_ports[0] = sl_htons(25);
  p.nlevels = 2;
  p.thresholds[1] = 3;
  p.profiles[1].window_clamp = 2048;
  p.profiles[1].strip_wscale = 1;
  for (int i = 0; i < prefixes; ++i) {
    const bool last = i == prefixes - 1;
    const std::string net =
        last && server_in ? std::string("198.18.2.0") : "198.19." + std::to_string(i) + ".0";
    inet_pton(AF_INET, net.c_str(), &p.servers4[i].addr);
    inet_pton(AF_INET, "255.255.255.0", &p.servers4[i].mask);
  }
  p.nservers4 = static_cast<__u32>(prefixes);
  return p;
}

struct Frame {
  explicit Frame(const std::vector<uint8_t> &bytes) : len(bytes.size()) {
    std::memcpy(buf, bytes.data(), len);
  }
  alignas(64) uint8_t buf[256];
  size_t len;
};

std::vector<uint8_t> clean_syn() {
  return PacketBuilder()
      .ipv4("198.18.1.10", "198.18.2.25")
      .tcp(40000, 25)
      .flags(0x02)
      .tcp_options(tcpopt::cat({tcpopt::mss(1460), tcpopt::sack_perm(), tcpopt::timestamps(1, 0),
                                tcpopt::nop(), tcpopt::wscale(7)}))
      .build();
}

std::vector<uint8_t> clean_segment() {
  return PacketBuilder()
      .ipv4("198.18.1.10", "198.18.2.25")
      .tcp(40000, 25)
      .flags(0x18)
      .tcp_options(tcpopt::cat({tcpopt::nop(2), tcpopt::timestamps(1, 2)}))
      .payload(std::vector<uint8_t>(100, 0x42))
      .build();
}

// The sequence on one frame, over and over; its bytes are never rewritten (level 0, no flow).
void run(benchmark::State &state, const std::vector<uint8_t> &bytes, const sl_policy &pol,
         sl_class want) {
  Frame f(bytes);
  BenchEnv env;
  std::memset(&env, 0, sizeof(env));
  uint64_t batch_start = __rdtsc(), best = ~0ull, n = 0;
  for (auto _ : state) {
    sl_class cls;
    sl_seq_out out;
    sl_verdict v = sl_seq_run(&env, f.buf, f.buf + f.len, static_cast<__u32>(f.len),
                              SL_DIR_FROM_OUTSIDE, &pol, &cls, &out);
    benchmark::DoNotOptimize(v);
    benchmark::DoNotOptimize(cls);
    if (++n % 256 == 0) {
      const uint64_t now = __rdtsc();
      if (now - batch_start < best) best = now - batch_start;
      batch_start = now;
    }
  }
  state.counters["cycles_best"] = static_cast<double>(best) / 256.0;
  sl_class cls;
  sl_seq_out out;
  sl_seq_run(&env, f.buf, f.buf + f.len, static_cast<__u32>(f.len), SL_DIR_FROM_OUTSIDE, &pol, &cls,
             &out);
  if (cls != want) state.SkipWithError("unexpected class");
}

void BM_CleanSyn(benchmark::State &state) {
  const int n = static_cast<int>(state.range(0));
  run(state, clean_syn(), scope_policy(n, true), SL_CLASS_CLIENT_SYN);
}
BENCHMARK(BM_CleanSyn)->Arg(0)->Arg(1)->Arg(16);

void BM_CleanSegment(benchmark::State &state) {
  const int n = static_cast<int>(state.range(0));
  run(state, clean_segment(), scope_policy(n, true), SL_CLASS_CLIENT_SEG);
}
BENCHMARK(BM_CleanSegment)->Arg(0)->Arg(1)->Arg(16);

void BM_CleanSegmentCookies(benchmark::State &state) {
  sl_policy p = scope_policy(0, true);
  p.profiles[1].tarpit = SL_TARPIT_STATELESS;
  p.tarpit_cookies = 1;
  for (uint32_t i = 0; i < 4; ++i) p.cookie_key[i] = 0x9e3779b9u * (i + 1);
  run(state, clean_segment(), p, SL_CLASS_CLIENT_SEG);
}
BENCHMARK(BM_CleanSegmentCookies);

void BM_CleanSynOutOfScope(benchmark::State &state) {
  run(state, clean_syn(), scope_policy(16, false), SL_CLASS_OTHER);
}
BENCHMARK(BM_CleanSynOutOfScope);

void BM_CleanSegmentOutOfScope(benchmark::State &state) {
  run(state, clean_segment(), scope_policy(16, false), SL_CLASS_OTHER);
}
BENCHMARK(BM_CleanSegmentOutOfScope);

}  // namespace

BENCHMARK_MAIN();
