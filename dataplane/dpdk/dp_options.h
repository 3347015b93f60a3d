// sluice-dp's own options (after EAL's and a "--"), read with Boost.Program_options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::dataplane {

// The control socket when --control is not given (docs/packaging.md: run-time paths).
inline constexpr const char *kDefaultControlSocket = "/run/sluice/sluice-dp.sock";

struct DpOptions {
  std::string outside;  // port id ("0") or device name ("net_af_packet0")
  std::string inside;
  std::string table;  // compiled snapshot; empty = start with an empty table
  // A snapshot loaded at start only if it can be (sluiced's STATE/table.snap): a restarted
  // data plane shapes from its first SYN instead of from sluiced's next check.
  std::string table_if_present;
  std::string policy;  // policy file; empty = only level 0 (pass everything)
  std::string control = kDefaultControlSocket;  // Unix socket path; empty = none (--no-control)
  uint32_t control_mode = 0600;                 // the socket file's permission bits
  std::optional<uint32_t> control_group;  // gid: the socket's group, whose members may connect
  std::optional<std::vector<uint16_t>> smtp_ports;  // overrides the policy's [smtp] ports
  uint32_t flow_table_size = 1u << 20;              // per lcore
  uint32_t pacer_size = 16384;                      // held packets per lcore (each holds an mbuf)
  uint32_t idle_timeout_s = 300;
  uint32_t closing_timeout_s = 10;
  uint16_t burst = 32;
  uint32_t idle_sleep_us = 0;   // sleep when idle (virtual ports); 0 = pure polling
  uint32_t busy_poll_us = 500;  // with idle_sleep_us: keep polling this long after a packet
  uint16_t rx_desc = 1024, tx_desc = 1024;
  // The ports' MTU (IP packet bytes); mbufs are sized so that one holds a whole frame of it.
  uint32_t mtu = 1500;
  bool link_propagation = true;  // a port losing its link takes the other down (dp_link.h)
  uint32_t link_settle_ms = 3000;
  bool help = false;
  std::string help_text;
};

// Parses argv (argv[0] is the program name, the rest are app options). Throws
// std::invalid_argument with a message for the operator on bad input.
DpOptions parse_dp_options(int argc, char **argv);

}  // namespace sluice::dataplane
