// Upgrading an instance over maps pinned by an older sluice-xdp whose shared structs were
// shorter. sl_policy and sl_stats grow only by appending fields (core/sl_shared.h), so an old
// value is a prefix of a new one; a field the old one lacked reads as 0, which keeps the old
// behaviour (0 = off for every appended policy field).
//
// On `sluice-xdp attach --upgrade`, a pinned map whose layout differs from this binary's is
// created afresh instead of reused, and carried over where it holds something to keep:
//   policy, policy_init   the policy in force, copied into the new layout (generation kept);
//   stats                 every counter the old layout had, per CPU;
//   flows                 restarted empty: connections already shaped pass unshaped until
//                         they end (as after an eviction); new connections are shaped;
//   heavy_sketch, heavy_table, verdict_table   restarted empty (a new observation window);
//   caps, caps_zero       restarted empty: every sender's caps start afresh;
//   greet                 restarted empty: connections opened before go untested for pregreet;
//   fanout                restarted empty: pairs seen before count once more.
// Any other map whose layout changed (the reputation tables, tx_port, meta) refuses the
// upgrade, naming the map: only detach + attach will do then.
#pragma once

#include <string>
#include <vector>

struct bpf_object;

namespace sluice::xdp {

// The maps pinned in `pin_dir` whose type, key size, value size or entry count differ from
// the definition in `obj` (opened, not loaded). "policy" is listed with its inner template
// "policy_init" (the outer map's own definition never changes; the verifier checks the
// inner one). Throws Error naming a changed map that cannot be created afresh.
std::vector<std::string> changed_layouts(bpf_object *obj, const std::string &pin_dir);

// Adds the old per-CPU sl_stats of `old_fd` (a shorter layout) into `new_fd`'s.
void carry_stats(int old_fd, int new_fd);

// Writes the policy in force in the old outer policy map (a shorter sl_policy) into
// `new_outer_fd`, the fields it lacked set to 0.
void carry_policy(int old_outer_fd, int new_outer_fd);

}  // namespace sluice::xdp
