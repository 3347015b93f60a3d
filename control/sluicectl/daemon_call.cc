#include "daemon_call.h"

#include <fmt/format.h>

#include "daemon_client.h"

namespace sluicectl {
namespace {

const GlobalOptionsRegistrar kDaemonOption([](po::options_description &d) {
  d.add_options()("daemon", po::value<std::string>()->value_name("PATH"),
                  "sluiced's control socket (default /run/sluice/sluiced.sock, or "
                  "$SLUICE_DAEMON)");
});

}  // namespace

std::string daemon_socket(const Context &ctx) {
  std::optional<std::string> flag;
  if (ctx.globals.count("daemon")) flag = ctx.globals["daemon"].as<std::string>();
  return sluice::control::daemon_socket_path(flag);
}

nlohmann::json daemon_call(const Context &ctx, const nlohmann::json &request) {
  sluice::control::DaemonClient client(daemon_socket(ctx));
  return client.call(request);
}

std::string format_age(const nlohmann::json &seconds) {
  if (!seconds.is_number()) return "-";
  int64_t s = seconds.get<int64_t>();
  if (s < 0) s = 0;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m {}s", s / 60, s % 60);
  if (s < 172800) return fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

}  // namespace sluicectl
