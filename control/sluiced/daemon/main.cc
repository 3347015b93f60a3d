// sluiced: the control-plane daemon (docs/sluiced.md).
//   sluiced [--config PATH] [--check]
// Exit codes: 0 ok (stopped by SIGTERM/SIGINT, or --check passed), 1 runtime or configuration
// error, 2 usage error.
#include <iostream>
#include <string>

#include <boost/program_options.hpp>

#include "daemon/daemon.h"
#include "po_error_text.h"
#include "daemon/log.h"

namespace {

namespace po = boost::program_options;
namespace sd = sluice::sluiced;

constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;

const char *kDescription =
    "Keeps every configured data plane's reputation table current: watches the sources file\n"
    "and its lists, refuses a list that fails to parse, lists nothing or shrinks too much\n"
    "(its last good version stays live), compiles the table with every module's\n"
    "contributions and pushes deltas (a full load to a data plane that restarted). Operators\n"
    "talk to it with `sluicectl --daemon SOCKET`. Runs in the foreground; under systemd as\n"
    "Type=notify. SIGHUP re-reads the sources file and every list.\n";

}  // namespace

int main(int argc, char **argv) {
  po::options_description desc("Options");
  desc.add_options()("help,h", "show this help")("version", "show the version")(
      "config,c", po::value<std::string>()->value_name("PATH"),
      "the configuration file (default /etc/sluice/sluiced.ini)")(
      "check", "check the configuration file (and the sources file it names), then exit 0 or 1");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error &e) {
    std::cerr << "sluiced: " << sluice::po_error_text(e) << "\nTry 'sluiced --help'.\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << "Usage: sluiced [--config PATH] [--check]\n\n" << kDescription << "\n" << desc;
    return kExitOk;
  }
  if (vm.count("version")) {
    std::cout << "sluiced " << SLUICE_VERSION << "\n";
    return kExitOk;
  }
  sd::SluicedConfig cfg;
  cfg.config_path = vm.count("config") ? vm["config"].as<std::string>() : sd::kDefaultConfigPath;
  auto modules = sd::make_modules();
  try {
    sd::load_config_file(cfg, modules);
    if (!cfg.sources.empty()) sluice::reputation::load_sources_file(cfg.sources);
  } catch (const std::exception &e) {
    std::cerr << "sluiced: " << e.what() << "\n";
    return kExitFailure;
  }
  if (vm.count("check")) {
    std::cout << cfg.config_path << ": ok\n";
    return kExitOk;
  }
  try {
    sd::Daemon daemon(cfg, std::move(modules));
    daemon.start();
    daemon.run();
  } catch (const std::exception &e) {
    sd::log_error(e.what());
    return kExitFailure;
  }
  return kExitOk;
}
