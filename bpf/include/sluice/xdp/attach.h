// Attaching the XDP data plane to an interface pair, detaching it, and its status. The programs
// stay attached and the maps pinned under /sys/fs/bpf/sluice/NAME/ after the process exits
// (fail-static); every later command finds the instance through those pins.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/sl_shared.h"

namespace sluice::xdp {

enum class XdpMode { native, generic };

XdpMode parse_mode(const std::string &s);  // "native" | "generic"; throws Error
const char *mode_name(XdpMode m);

struct AttachOptions {
  std::string name;
  std::string outside;  // interface facing the senders
  std::string inside;   // interface facing the MTAs
  XdpMode mode = XdpMode::native;
};

// All or nothing: on any failure nothing stays attached or pinned, and the Error says why
// (missing interface, mode not supported, a foreign XDP program, a verifier rejection...).
void attach(const AttachOptions &opts);

// Replaces the running programs of instance NAME with the ones built into this binary, without
// a gap and without losing state: the new object reuses every pinned map (table, policy,
// flows, counters, devmap), and each port's program is swapped in one atomic step
// (XDP_FLAGS_REPLACE: the kernel swaps only if the old program is still the attached one;
// every packet runs either the old or the new program, none runs neither). A pinned map
// whose layout this build changed (a longer sl_policy or sl_stats, a resized flow table) is
// created afresh and carried over as map_layout.h says: the policy and the counters are kept,
// the flows and the heavy-hitter window restart. Fails without changing anything when another
// map's layout changed (then only detach + attach will do), or when a port's program is no
// longer ours. Returns the new programs' ids (outside, inside).
std::pair<uint32_t, uint32_t> upgrade(const std::string &name);

// Detaches both programs (only if they are still ours) and removes the pins. Throws if there is
// no instance of that name.
void detach(const std::string &name);

struct PortStatus {
  std::string ifname;  // empty if the interface is gone
  uint32_t ifindex = 0;
  bool attached = false;  // our program is the one attached to it now
  uint32_t prog_id = 0;   // whatever is attached now (0: nothing)
};

struct Status {
  std::string name;
  XdpMode mode = XdpMode::native;
  PortStatus outside, inside;
  sl_stats stats{};  // summed over CPUs
  uint32_t policy_generation = 0;
  uint32_t table_set = 0;
  uint64_t flows = 0;
};

// Attaches the pass-all program to one interface (the far end of a veth pair in a test rig).
void attach_pass(const std::string &ifname, XdpMode mode);

bool instance_exists(const std::string &name);
// The random id drawn when the instance was attached: a detach and a new attach under the same
// name give another id. Throws if there is no instance of that name.
uint64_t instance_id(const std::string &name);
// The ifindex of the instance's inside port (the MTAs' side). Throws if there is no instance.
uint32_t inside_ifindex(const std::string &name);
Status status(const std::string &name);  // throws if there is no instance of that name

}  // namespace sluice::xdp
