// The verbs of sluiced's control socket. Each concern adds its own ("status", "sources list",
// "host set", "report", ...) with CommandTable::add from its Module::start; the dispatcher
// never changes. Framing and hardening are sluice-dp's (dataplane/common/control_server.h:
// 4-byte length + JSON, SO_PEERCRED, mode and group, size and time limits); requests are
// {"cmd": "VERB", ...arguments}, replies {"ok": true, ...} or {"ok": false, "error": "..."}.
//
// Handlers run on the event loop's thread, one at a time. They read arguments with the helpers
// below, which throw CommandError (the client sees its message) for a missing or mistyped one.
// A handler never opens a path a client names: arguments are names, addresses, numbers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sluice_error.h"

namespace sluice::sluiced {

class CommandError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

// Gets the request; returns the reply's members ("ok": true is added when absent).
using CommandHandler = std::function<nlohmann::json(const nlohmann::json &request)>;

class CommandTable {
 public:
  // Throws std::logic_error for a verb added twice.
  void add(std::string verb, std::string summary, CommandHandler handler);
  // The reply to one request (already checked to be an object with a string "cmd"). Handler
  // exceptions propagate (dispatch_request turns them into error replies).
  nlohmann::json handle(const nlohmann::json &request) const;
  // verb -> summary ("help" lists them).
  std::map<std::string, std::string> verbs() const;

 private:
  struct Entry {
    std::string summary;
    CommandHandler handler;
  };
  std::map<std::string, Entry, std::less<>> verbs_;
};

// Argument helpers: CommandError("KEY: reason") when missing (required) or of the wrong type.
std::string arg_string(const nlohmann::json &req, const char *key);
std::optional<std::string> arg_opt_string(const nlohmann::json &req, const char *key);
std::optional<int64_t> arg_opt_int(const nlohmann::json &req, const char *key);
bool arg_flag(const nlohmann::json &req, const char *key);  // absent = false

}  // namespace sluice::sluiced
