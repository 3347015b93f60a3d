// sluicectl's commands that talk to sluiced: the global option `--daemon PATH` (default
// /run/sluice/sluiced.sock, or $SLUICE_DAEMON) and one call helper. A command file
// (cmd_*.cc) does:
//
//   const json reply = daemon_call(ctx, {{"cmd", "host set"}, {"addr", addr}, ...});
//
// which throws sluice::control::DaemonError (exit 1, message printed) when sluiced cannot be
// reached or answers {"ok": false}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "command_registry.h"

namespace sluicectl {

// The socket --daemon / SLUICE_DAEMON / the default names.
std::string daemon_socket(const Context &ctx);

nlohmann::json daemon_call(const Context &ctx, const nlohmann::json &request);

// "3m 12s" style age for human output; "-" for null.
std::string format_age(const nlohmann::json &seconds);

}  // namespace sluicectl
