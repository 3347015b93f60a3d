// sluicectl: global options, then a command word, then the command's own arguments.
//   sluicectl [GLOBAL OPTIONS] COMMAND [ARGS...]
// Exit codes: 0 ok, 1 runtime/input error, 2 usage error (docs/sluicectl.md).
#include <iostream>
#include <string>
#include <vector>

#include "command_registry.h"
#include "po_error_text.h"
#include "sluice/reputation/error.h"

namespace {

using namespace sluicectl;

void usage(std::ostream &os, const po::options_description &globals) {
  os << "Usage: sluicectl [GLOBAL OPTIONS] COMMAND [ARGS...]\n\nCommands:\n";
  const auto top = CommandRegistry::instance().children("");
  size_t width = 0;
  for (const auto &[name, summary] : top) width = std::max(width, name.size());
  for (const auto &[name, summary] : top)
    os << "  " << name << std::string(width - name.size() + 3, ' ') << summary << "\n";
  os << "\n" << globals << "\nRun 'sluicectl COMMAND --help' for a command's options.\n";
}

// `sluicectl GROUP --help`: the group's commands.
void group_usage(std::ostream &os, const std::string &group) {
  os << "Usage: sluicectl " << group << " COMMAND [OPTIONS]\n\nCommands:\n";
  const auto subs = CommandRegistry::instance().children(group);
  size_t width = 0;
  for (const auto &[name, summary] : subs) width = std::max(width, name.size());
  for (const auto &[name, summary] : subs)
    os << "  " << name << std::string(width - name.size() + 3, ' ') << summary << "\n";
  os << "\nRun 'sluicectl " << group << " COMMAND --help' for its options.\n";
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
    std::cerr << "sluicectl: " << sluice::po_error_text(e) << "\nTry 'sluicectl --help'.\n";
    return kExitUsage;
  }
  if (vm.count("version")) {
    std::cout << version_line() << "\n";
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
  // The longest run of words that names a command or a group.
  const auto &reg = CommandRegistry::instance();
  std::string path = args[ci];
  size_t next = ci + 1;
  if (!reg.find(path) && !reg.is_group(path)) {
    std::cerr << "sluicectl: unknown command '" << path << "' (commands:";
    for (const auto &[name, summary] : reg.children("")) std::cerr << " " << name;
    std::cerr << ")\nTry 'sluicectl --help'.\n";
    return kExitUsage;
  }
  while (!reg.find(path)) {  // a group: the next word picks one of its members
    const std::string word = next < args.size() ? args[next] : std::string();
    if (word == "--help" || word == "-h") {
      group_usage(std::cout, path);
      return kExitOk;
    }
    if (word == "--version") {
      std::cout << version_line() << "\n";
      return kExitOk;
    }
    const std::string longer = path + " " + word;
    if (word.empty() || (!reg.find(longer) && !reg.is_group(longer))) {
      if (word.empty())
        std::cerr << "sluicectl " << path << ": a command is missing\n";
      else
        std::cerr << "sluicectl " << path << ": unknown command '" << word << "'\n";
      group_usage(std::cerr, path);
      return kExitUsage;
    }
    path = longer;
    ++next;
  }
  const Command *cmd = reg.find(path);
  Context ctx{"sluicectl " + path,
              std::vector<std::string>(args.begin() + static_cast<long>(next), args.end()), vm,
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
