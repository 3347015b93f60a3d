#include "core/native_pipeline.h"

#include <cstring>
#include <memory>

namespace sluice::testing {

FixtureResult run_native_packet(const std::vector<uint8_t> &input, sl_dir dir,
                                const sl_policy &policy,
                                const std::optional<sl_rep_value> &client_rep,
                                const std::optional<sl_flow_state> &flow_before, uint32_t rnd) {
  FixtureResult r;
  // An exactly sized heap copy: ASan reports any access past the frame.
  const size_t n = input.size();
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n == 0 ? 1 : n]);
  if (n > 0) std::memcpy(buf.get(), input.data(), n);
  void *data = buf.get();
  void *data_end = buf.get() + n;
  auto emitted = [&](size_t len) { return std::vector<uint8_t>(buf.get(), buf.get() + len); };

  sl_pkt pkt;
  r.parse_result = sl_parse(data, data_end, &pkt);
  if (r.parse_result != SL_PARSE_OK) {
    r.output = emitted(n);
    return r;
  }
  r.cls = sl_classify(&pkt, data_end, dir, policy.smtp_ports);
  if (r.cls == SL_CLASS_OTHER) {
    r.output = emitted(n);
    return r;
  }
  sl_flow_key key;
  sl_flow_key_make(&pkt, r.cls, &key);

  if (r.cls == SL_CLASS_INBOUND_SYN) {
    // No reputation entry: score 0, no flags.
    const sl_rep_value rep = client_rep.value_or(sl_rep_value{0, 0});
    const uint32_t level = sl_level_for(&policy, rep.score, rep.flags);
    if (level == 0 || level >= SL_MAX_LEVELS) {
      r.output = emitted(n);
      return r;
    }
    sl_flow_state st;
    std::memset(&st, 0, sizeof(st));
    st.level = static_cast<uint8_t>(level);
    uint32_t tx_len = 0;
    r.verdict = sl_act_syn(&policy.profiles[level], &pkt, data, data_end, &st, &tx_len);
    if (r.verdict == SL_VERDICT_PASS) {
      r.flow_after = st;
      r.output = emitted(n);
    } else if (r.verdict == SL_VERDICT_TX) {
      r.output = emitted(tx_len <= n ? tx_len : n);
    }
    return r;
  }

  if (!flow_before) {
    r.output = emitted(n);
    return r;
  }
  sl_flow_state st = *flow_before;
  const uint32_t level = st.level < SL_MAX_LEVELS ? st.level : 0;
  const sl_profile *prof = &policy.profiles[level];
  if (r.cls == SL_CLASS_SERVER_SEG)
    r.verdict = sl_act_server_seg(prof, &st, &pkt, data_end, rnd);
  else
    r.verdict = sl_act_client_seg(prof, &st, &pkt, data_end, rnd);
  r.flow_after = st;
  if (r.verdict != SL_VERDICT_DROP) r.output = emitted(n);
  return r;
}

FixtureResult run_native(const CoreFixture &fixture, const sl_policy &policy, uint32_t rnd) {
  return run_native_packet(fixture.input, fixture.dir, policy, fixture.client_rep,
                           fixture.flow_before, rnd);
}

}  // namespace sluice::testing
