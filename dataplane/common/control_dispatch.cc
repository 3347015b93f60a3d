#include "control_dispatch.h"

#include <stdexcept>

namespace sluice::dataplane {
namespace {

// Parser messages quote the bytes they stopped at; keep them short and printable.
std::string printable(std::string_view s, size_t max = 200) {
  std::string out;
  for (const char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

std::string encode_reply(const nlohmann::json &reply, size_t max_bytes) {
  std::string out;
  try {
    out = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception &e) {
    return error_reply(std::string("reply could not be encoded: ") + e.what());
  }
  if (out.size() <= max_bytes) return out;
  return error_reply("reply of " + std::to_string(out.size()) + " bytes exceeds the " +
                     std::to_string(max_bytes) +
                     "-byte message limit (for flows, ask for fewer or page with \"skip\")");
}

std::string error_reply(std::string_view message) {
  const nlohmann::json j = {{"ok", false}, {"error", std::string(message)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string dispatch_request(const ControlHandler &handler, std::string_view body, int file_fd,
                             size_t max_bytes) {
  nlohmann::json req;
  try {
    req = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error &e) {
    return error_reply("request is not valid JSON (UTF-8): " + printable(e.what()));
  } catch (const std::exception &e) {
    return error_reply("request is not valid JSON (UTF-8)");
  }
  if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string())
    return error_reply("request must be a JSON object with a string \"cmd\"");
  try {
    return encode_reply(handler(req, file_fd), max_bytes);
  } catch (const std::exception &e) {
    return error_reply(e.what());
  } catch (...) {
    return error_reply("request failed");
  }
}

}  // namespace sluice::dataplane
