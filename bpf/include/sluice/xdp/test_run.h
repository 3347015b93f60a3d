// BPF_PROG_TEST_RUN for the XDP programs: one frame in, the frame out and the XDP action.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sluice::xdp {

struct TestRunResult {
  uint32_t action = 0;          // XDP_DROP, XDP_TX, XDP_REDIRECT, ...
  std::vector<uint8_t> output;  // the frame after the program (trimmed/rewritten)
  uint32_t duration_ns = 0;     // mean per run as the kernel measured it
};

// Runs prog_fd over `frame` `repeat` times (the output is that of the last run). Throws Error.
TestRunResult test_run(int prog_fd, std::span<const uint8_t> frame, uint32_t repeat = 1);

// The frame as a held tarpit ACK sent through again: with the replay marker as XDP metadata
// (sl_xdp_layout.h, SLX_REPLAY_META_LEN). The output is the frame without it. Throws Error.
TestRunResult test_run_replayed(int prog_fd, std::span<const uint8_t> frame);

// The same for real (BPF_F_TEST_XDP_LIVE_FRAMES): the program runs as if the frame had arrived
// on ingress_ifindex (in the caller's network namespace), and what it redirects or sends back
// is transmitted. Throws Error.
void send_replayed(int prog_fd, std::span<const uint8_t> frame, uint32_t ingress_ifindex);

}  // namespace sluice::xdp
