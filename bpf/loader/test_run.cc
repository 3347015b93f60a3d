#include "sluice/xdp/test_run.h"

#include <bpf/bpf.h>

#include "sluice/xdp/error.h"

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

}  // namespace sluice::xdp
