#include "daemon/commands.h"

#include <stdexcept>

namespace sluice::sluiced {

void CommandTable::add(std::string verb, std::string summary, CommandHandler handler) {
  const std::string v = verb;
  if (!verbs_.emplace(std::move(verb), Entry{std::move(summary), std::move(handler)}).second)
    throw std::logic_error("sluiced: command '" + v + "' added twice");
}

nlohmann::json CommandTable::handle(const nlohmann::json &request) const {
  const std::string &verb = request.at("cmd").get_ref<const std::string &>();
  auto it = verbs_.find(verb);
  if (it == verbs_.end()) {
    std::string known;
    for (const auto &[v, e] : verbs_) known += (known.empty() ? "" : ", ") + v;
    std::string shown;
    for (const char c : verb.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    throw CommandError("unknown command '" + shown + "' (known: " + known + ")");
  }
  nlohmann::json reply = it->second.handler(request);
  if (reply.is_null()) reply = nlohmann::json::object();
  if (!reply.is_object()) reply = {{"result", std::move(reply)}};
  if (!reply.contains("ok")) reply["ok"] = true;
  return reply;
}

std::map<std::string, std::string> CommandTable::verbs() const {
  std::map<std::string, std::string> out;
  for (const auto &[v, e] : verbs_) out[v] = e.summary;
  return out;
}

std::string arg_string(const nlohmann::json &req, const char *key) {
  auto v = arg_opt_string(req, key);
  if (!v) throw CommandError(std::string(key) + ": required");
  return *v;
}

std::optional<std::string> arg_opt_string(const nlohmann::json &req, const char *key) {
  if (!req.contains(key) || req[key].is_null()) return std::nullopt;
  if (!req[key].is_string()) throw CommandError(std::string(key) + ": must be a string");
  return req[key].get<std::string>();
}

std::optional<int64_t> arg_opt_int(const nlohmann::json &req, const char *key) {
  if (!req.contains(key) || req[key].is_null()) return std::nullopt;
  if (!req[key].is_number_integer()) throw CommandError(std::string(key) + ": must be an integer");
  return req[key].get<int64_t>();
}

bool arg_flag(const nlohmann::json &req, const char *key) {
  if (!req.contains(key) || req[key].is_null()) return false;
  if (!req[key].is_boolean()) throw CommandError(std::string(key) + ": must be true or false");
  return req[key].get<bool>();
}

}  // namespace sluice::sluiced
