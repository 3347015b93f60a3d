#include "sluice/xdp/test_run.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

#include "sluice/xdp/error.h"
#include "sluice/xdp/sl_xdp_layout.h"

namespace sluice::xdp {

TestRunResult test_run(int prog_fd, std::span<const uint8_t> frame, uint32_t repeat) {
  TestRunResult r;
  // Room for a program that grows the frame; ours only shrinks it (RST replies).
  r.output.resize(frame.size() + 512);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = r.output.data(),
              .data_size_in = static_cast<uint32_t>(frame.size()),
              .data_size_out = static_cast<uint32_t>(r.output.size()),
              .repeat = static_cast<int>(repeat));
  const int err = bpf_prog_test_run_opts(prog_fd, &opts);
  if (err != 0) throw_errno("BPF_PROG_TEST_RUN", err);
  r.output.resize(opts.data_size_out);
  r.action = opts.retval;
  r.duration_ns = opts.duration;
  return r;
}

namespace {

std::vector<uint8_t> with_replay_marker(std::span<const uint8_t> frame) {
  std::vector<uint8_t> in(SLX_REPLAY_META_LEN + frame.size());
  const uint32_t marker[2] = {SLX_REPLAY_MAGIC0, SLX_REPLAY_MAGIC1};
  static_assert(sizeof(marker) == SLX_REPLAY_META_LEN);
  std::memcpy(in.data(), marker, sizeof(marker));
  std::memcpy(in.data() + SLX_REPLAY_META_LEN, frame.data(), frame.size());
  return in;
}

}  // namespace

TestRunResult test_run_replayed(int prog_fd, std::span<const uint8_t> frame) {
  const std::vector<uint8_t> in = with_replay_marker(frame);
  TestRunResult r;
  r.output.resize(in.size() + 512);
  // ctx.data: where the frame starts in data_in; the bytes before it are the metadata.
  xdp_md ctx{};
  ctx.data = SLX_REPLAY_META_LEN;
  ctx.data_end = static_cast<uint32_t>(in.size());
  xdp_md ctx_out{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.output.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(r.output.size()), .ctx_in = &ctx,
              .ctx_out = &ctx_out, .ctx_size_in = sizeof(ctx), .ctx_size_out = sizeof(ctx_out),
              .repeat = 1);
  const int err = bpf_prog_test_run_opts(prog_fd, &opts);
  if (err != 0) throw_errno("BPF_PROG_TEST_RUN", err);
  // The output starts with the metadata, as the program left it (ctx_out.data bytes).
  const size_t meta = std::min<size_t>(ctx_out.data, opts.data_size_out);
  r.output.resize(opts.data_size_out);
  r.output.erase(r.output.begin(), r.output.begin() + static_cast<std::ptrdiff_t>(meta));
  r.action = opts.retval;
  r.duration_ns = opts.duration;
  return r;
}

void send_replayed(int prog_fd, std::span<const uint8_t> frame, uint32_t ingress_ifindex) {
  const std::vector<uint8_t> in = with_replay_marker(frame);
  xdp_md ctx{};
  ctx.data = SLX_REPLAY_META_LEN;
  ctx.data_end = static_cast<uint32_t>(in.size());
  ctx.ingress_ifindex = ingress_ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(),
              .data_size_in = static_cast<uint32_t>(in.size()), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
  const int err = bpf_prog_test_run_opts(prog_fd, &opts);
  if (err != 0) throw_errno("BPF_PROG_TEST_RUN (live frame)", err);
}

}  // namespace sluice::xdp
