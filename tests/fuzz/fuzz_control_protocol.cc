// libFuzzer target for sluice-dp's control protocol without DPDK: the input is a byte stream
// as a client would send it, cut into reads of varying sizes, framed by proto::FrameDecoder and
// answered by dispatch_request with a handler over a stand-in data-plane state (the policy
// parser and formatter are the real ones; level names flow into stats as in sluice-dp).
//
// Input: byte 0 picks the read sizes (seed of a small generator), the rest is the stream.
// Checked for every request: dispatch never throws, every reply is valid JSON (UTF-8) with an
// "ok" member and fits the message limit; the decoder never hands out more than the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control_dispatch.h"
#include "control_proto.h"
#include "policy_file.h"

namespace {

using nlohmann::json;
namespace dp = sluice::dataplane;

struct FakeState {
  std::vector<std::string> level_names{"pass"};
  std::string policy_text;
  uint32_t generation = 0;
};

size_t count(const json &req, const char *key, size_t dflt) {
  if (!req.contains(key)) return dflt;
  if (!req[key].is_number_unsigned()) throw std::invalid_argument("bad count");
  return req[key].get<size_t>();
}

json handle(FakeState &st, const json &req, int file_fd) {
  const std::string &cmd = req["cmd"].get_ref<const std::string &>();
  if (cmd == "ping") return {{"ok", true}};
  if (cmd == "policy.set") {
    if (!req.contains("text") || !req["text"].is_string())
      throw std::invalid_argument(file_fd < 0 ? "no file was sent" : "unexpected file");
    std::istringstream in(req["text"].get<std::string>());
    dp::PolicyFile pf = dp::parse_policy(in, req.value("name", std::string("policy")));
    st.policy_text = dp::format_policy(pf);
    st.level_names = pf.level_names;
    return {{"ok", true}, {"generation", ++st.generation}};
  }
  if (cmd == "policy.get") return {{"ok", true}, {"text", st.policy_text}};
  if (cmd == "stats") {
    json levels = json::array();
    for (size_t l = 0; l < st.level_names.size(); ++l)
      levels.push_back({{"level", l}, {"name", st.level_names[l]}, {"syns", l * 7}});
    return {{"ok", true}, {"levels", levels}};
  }
  if (cmd == "flows") {
    // 10000 stand-in flows; the reply must stay within the message limit whatever is asked.
    const size_t limit = count(req, "limit", 1000), skip = count(req, "skip", 0);
    json out = json::array();
    size_t bytes = 64;
    for (size_t i = skip; i < 10000 && out.size() < limit; ++i) {
      json f = {{"client", "198.18.0." + std::to_string(i % 256)}, {"client_port", i % 65536}};
      bytes += f.dump().size() + 1;
      if (bytes > dp::proto::kMaxMessage - 4096) break;
      out.push_back(std::move(f));
    }
    return {{"ok", true}, {"flows", out}};
  }
  if (cmd == "table.load" || cmd == "table.delta")
    throw std::invalid_argument(cmd + ": no file was sent with the request");
  throw std::invalid_argument("unknown command '" + cmd.substr(0, 64) + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint32_t rng = data[0] * 2654435761u + 1;
  const std::string_view stream(reinterpret_cast<const char *>(data + 1), size - 1);
  FakeState st;
  const dp::ControlHandler handler = [&st](const json &req, int fd) { return handle(st, req, fd); };
  // A small limit too, so the too-large path is reached with small inputs.
  const uint32_t max = (data[0] & 1) ? dp::proto::kMaxMessage : 4096;
  dp::proto::FrameDecoder dec(max);
  size_t pos = 0;
  std::string body;
  while (pos < stream.size()) {
    rng = rng * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(stream.size() - pos, 1 + (rng >> 16) % 64);
    dec.feed(stream.substr(pos, n));
    pos += n;
    for (;;) {
      const dp::proto::ReadStatus s = dec.next(body);
      if (s == dp::proto::ReadStatus::kClosed) break;
      if (s == dp::proto::ReadStatus::kTooLarge) {
        if (dec.announced() <= max) std::abort();
        return 0;  // the server answers and closes here
      }
      if (body.size() > max) std::abort();
      const std::string reply = dp::dispatch_request(handler, body, -1, dp::proto::kMaxMessage);
      if (reply.size() > dp::proto::kMaxMessage) std::abort();
      const json r = json::parse(reply);  // throws (a crash) if not valid JSON / UTF-8
      if (!r.is_object() || !r.contains("ok") || !r["ok"].is_boolean()) std::abort();
    }
  }
  return 0;
}
