// sluicectl: global options, then a command word, then the command's own arguments.
//   sluicectl [GLOBAL OPTIONS] COMMAND [ARGS...]
// Exit codes: 0 ok, 1 runtime/input error, 2 usage error (docs/sluicectl.md).
#include <iostream>
#include <string>
#include <vector>

#include "command_registry.h"
#include "sluice/reputation/error.h"

namespace {

using namespace sluicectl;

void usage(std::ostream &os, const po::options_description &globals) {
  os << "Usage: sluicectl [GLOBAL OPTIONS] COMMAND [ARGS...]\n\nCommands:\n";
  size_t width = 0;
  for (const auto &[name, cmd] : CommandRegistry::instance().commands())
    width = std::max(width, name.size());
  for (const auto &[name, cmd] : CommandRegistry::instance().commands())
    os << "  " << name << std::string(width - name.size() + 3, ' ') << cmd.summary << "\n";
  os << "\n" << globals << "\nRun 'sluicectl COMMAND --help' for a command's options.\n";
}

// The index of the command word: the first argument that is neither a global option nor the
// value of one. Global options must come before the command word.
size_t command_index(const std::vector<std::string> &args, const po::options_description &g) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--") return i + 1;
    if (a.size() < 2 || a[0] != '-') return i;
    if (a.find('=') != std::string::npos) continue;
    // boost matches long options by name, short ones by "-x"
    std::string name = a.rfind("--", 0) == 0 ? a.substr(2) : a.substr(0, 2);
    const po::option_description *d = g.find_nothrow(name, false);
    if (d && d->semantic()->max_tokens() > 0) ++i;  // skip its value
  }
  return args.size();
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  po::options_description globals("Global options");
  globals.add_options()("help,h", "show this help and the list of commands")("version",
                                                                             "show the version");
  CommandRegistry::instance().describe_global_options(globals);

  size_t ci = command_index(args, globals);
  std::vector<std::string> global_args(args.begin(), args.begin() + static_cast<long>(ci));
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(global_args).options(globals).run(), vm);
    po::notify(vm);
  } catch (const po::error &e) {
    std::cerr << "sluicectl: " << e.what() << "\nTry 'sluicectl --help'.\n";
    return kExitUsage;
  }
  if (vm.count("version")) {
    std::cout << "sluicectl " << SLUICE_VERSION << "\n";
    return kExitOk;
  }
  if (vm.count("help")) {
    usage(std::cout, globals);
    return kExitOk;
  }
  if (ci >= args.size()) {
    usage(std::cerr, globals);
    return kExitUsage;
  }
  const std::string &word = args[ci];
  const Command *cmd = CommandRegistry::instance().find(word);
  if (!cmd) {
    std::cerr << "sluicectl: unknown command '" << word << "' (commands:";
    for (const auto &[name, c] : CommandRegistry::instance().commands()) std::cerr << " " << name;
    std::cerr << ")\nTry 'sluicectl --help'.\n";
    return kExitUsage;
  }
  Context ctx{"sluicectl " + word,
              std::vector<std::string>(args.begin() + static_cast<long>(ci) + 1, args.end()), vm,
              std::cout, std::cerr};
  try {
    return cmd->run(ctx);
  } catch (const UsageError &e) {
    std::cerr << ctx.command_path << ": " << e.what() << "\nTry '" << ctx.command_path
              << " --help'.\n";
    return kExitUsage;
  } catch (const sluice::reputation::Error &e) {
    std::cerr << "sluicectl: " << e.what() << "\n";
    return kExitFailure;
  } catch (const std::exception &e) {
    std::cerr << "sluicectl: " << e.what() << "\n";
    return kExitFailure;
  }
}
