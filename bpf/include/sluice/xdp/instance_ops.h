// Live updates of a running (attached) XDP instance through its pins: the reputation table
// (full snapshot, or a delta against the last snapshot loaded), the policy, the flow list.
// Shared by `sluice-xdp` and by sluicectl's xdp:NAME data-plane client.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/sl_shared.h"
#include "sluice/xdp/rep_tables.h"

namespace sluice::reputation {
class Snapshot;
}

namespace sluice::xdp {

// Where the last loaded snapshot of an instance is kept (deltas apply to it):
// $SLUICE_XDP_STATE_DIR or /run/sluice/xdp, then /NAME/table.snapshot.
std::string state_snapshot_path(const std::string &name);

// Full replacement, atomic for the data plane (double-buffered). Throws Error.
ReplaceStats load_snapshot(const std::string &name, const std::string &snapshot_path);
// The last snapshot with the delta applied, loaded as a full replacement (so still atomic).
ReplaceStats apply_delta_file(const std::string &name, const std::string &delta_path);
// After a full load the inactive set holds whatever it held before (the table before, another
// one, or nothing after a new attachment), unknown to the loader, so the next delta would write
// it whole: seconds' worth at a million entries, on the path of a change that should take
// milliseconds. This writes it now, to hold the running table, and saves that as the standby
// state; the next delta then writes only its own entries. The data plane goes on reading the
// active set (no flip). Returns false, having written nothing, when the standby is already known
// or no table was loaded through sluice. Takes the instance lock for as long as it writes (a
// change meanwhile waits for it). Throws Error.
bool prepare_standby(const std::string &name);
// Entries of the table loaded now (from the kept snapshot; 0 if none was loaded).
size_t table_entries(const std::string &name);

// A snapshot file as the XDP tables take it. Throws Error.
RepTable load_snapshot_table(const std::string &snapshot_path);
// A policy file (docs/policy.md) parsed; its load warnings appended to *warnings if given.
// Throws Error.
sl_policy parse_policy_file(const std::string &path, std::vector<std::string> *warnings = nullptr);

// Replaces the policy; its generation becomes the running one + 1. Returns the new generation.
uint32_t set_policy(const std::string &name, sl_policy policy);
// Parses a policy file (docs/policy.md) and sets it; its level names are kept in the state
// folder (DIR/level.names), tied to this attachment and the new generation, since the policy
// map holds none.
uint32_t set_policy_file(const std::string &name, const std::string &path);
// The running policy's level names (index = level), as its file named them: empty when the
// running policy did not come from a file through set_policy_file (another generation since,
// another attachment, nothing saved).
std::vector<std::string> level_names(const std::string &name);
sl_policy get_policy(const std::string &name);

// Sends every held tarpit ACK (the `held` map: core/sl_sequence.h, sl_seq_tarpit_keep) through
// the inside program again, for real (test_run.h, send_replayed), as if it had just arrived on
// the inside port: the program drops it while its sender is still tarpitted and otherwise lets
// it go on at the sender's new level, so a released client learns its window now instead of at
// its next zero-window probe. An ACK of a connection the policy no longer watches is forgotten.
// The caller must be in the inside port's network namespace. load_snapshot, apply_delta_file
// and set_policy call it after their change; a failure there is not theirs (the client is
// then released at its next probe). Returns the ACKs sent through. Throws Error.
size_t release_held(const std::string &name);

// Up to `limit` shaped flows.
std::vector<std::pair<sl_flow_key, sl_flow_state>> list_flows(const std::string &name,
                                                              size_t limit);

}  // namespace sluice::xdp
