// libFuzzer target for sluiced's two inputs (control/sluiced/):
//   byte 0 even: the rest is a sluiced.ini; the loader ([sluiced], [source.NAME], a module
//     section) must accept it or throw ConfigError, nothing else, and what it accepts must be
//     in range;
//   byte 0 odd: the rest is a byte stream on sluiced's control socket, framed by
//     proto::FrameDecoder and answered by dispatch_request over a real Daemon's verbs (no
//     sources, no data planes, a scratch state directory). Every reply must be valid JSON with a
//     boolean "ok" that fits the message limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "control_dispatch.h"
#include "control_proto.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

namespace {

namespace sd = sluice::sluiced;
namespace dp = sluice::dataplane;
using nlohmann::json;

void fuzz_config(const std::string &text) {
  sd::SluicedConfig cfg;
  sd::ConfigSchema schema;
  sd::describe_sluiced_config(schema, cfg);
  sd::po::options_description store("[store]");
  store.add_options()("store.path", sd::po::value<std::string>());
  schema.add_section(store);
  std::istringstream in(text);
  try {
    const auto vm = schema.parse(in, "fuzz.ini");
    sd::read_sluiced_config(vm, cfg);
  } catch (const sd::ConfigError &) {
    return;
  }
  if (cfg.socket_mode > 0777 || cfg.max_shrink < 0 || cfg.max_shrink > 100 ||
      cfg.refresh_interval < std::chrono::seconds(1))
    std::abort();
  for (const auto &[name, g] : cfg.per_source)
    if (g.max_shrink && (*g.max_shrink < 0 || *g.max_shrink > 100)) std::abort();
}

// The daemon's scratch state directory, removed when the fuzzer exits. Made before the daemon
// (a function-local static), so it is destroyed after it.
struct ScratchDir {
  std::string path;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
const std::string &scratch_dir() {
  static const ScratchDir dir = [] {
    std::string p = (std::filesystem::temp_directory_path() / "fuzz_sluiced.XXXXXX").string();
    if (!::mkdtemp(p.data())) std::abort();
    return ScratchDir{p};
  }();
  return dir.path;
}

sd::Daemon &daemon() {
  static std::unique_ptr<sd::Daemon> d = [] {
    sd::set_log_sink([](sd::LogLevel, std::string_view) {});
    sd::SluicedConfig cfg;
    cfg.state_dir = scratch_dir();
    auto p = std::make_unique<sd::Daemon>(cfg, std::vector<std::unique_ptr<sd::Module>>{});
    p->start(false);
    return p;
  }();
  return *d;
}

void fuzz_control(const std::string &stream) {
  sd::Daemon &d = daemon();
  const dp::ControlHandler handler = [&d](const json &req, int) {
    return d.commands().handle(req);
  };
  dp::proto::FrameDecoder dec;
  dec.feed(stream);
  std::string body;
  while (dec.next(body) == dp::proto::ReadStatus::kOk) {
    if (body.size() > dp::proto::kMaxMessage) std::abort();
    const std::string reply = dp::dispatch_request(handler, body, -1, dp::proto::kMaxMessage);
    if (reply.size() > dp::proto::kMaxMessage) std::abort();
    const json r = json::parse(reply);  // throws (and fails the run) when not valid JSON
    if (!r.is_object() || !r.contains("ok") || !r["ok"].is_boolean()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] % 2 == 0)
    fuzz_config(rest);
  else
    fuzz_control(rest);
  return 0;
}
