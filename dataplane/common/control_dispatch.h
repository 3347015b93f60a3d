// One control request, bytes in, bytes out, with no socket and no DPDK: parses the JSON body,
// checks its shape, calls the handler and encodes the reply. Nothing a client sends can make it
// throw: parse errors, handler exceptions of any type and replies that cannot be encoded all
// become {"ok": false, "error": ...}. Used by the control server and by the fuzz target.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::dataplane {

// `file_fd` is the file the client sent with the request (SCM_RIGHTS), or -1. The handler may
// read it; the caller closes it.
using ControlHandler = std::function<nlohmann::json(const nlohmann::json &request, int file_fd)>;

// A reply as bytes: compact JSON whose strings are valid UTF-8 (invalid bytes, e.g. a Latin-1
// level name, become U+FFFD). A reply over `max_bytes` is replaced by an error reply saying so.
std::string encode_reply(const nlohmann::json &reply, size_t max_bytes);

// An error reply, encoded.
std::string error_reply(std::string_view message);

// The reply (encoded, at most max_bytes) to one request body.
std::string dispatch_request(const ControlHandler &handler, std::string_view body, int file_fd,
                             size_t max_bytes);

}  // namespace sluice::dataplane
