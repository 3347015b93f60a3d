// sluicectl's command registry. Each cmd_*.cc file registers its top-level command(s) with a
// static CommandRegistrar, and may add global options (given before the command word, e.g.
// `sluicectl --dataplane dpdk:/run/sluice.sock table ...`) with a GlobalOptionsRegistrar;
// main.cc parses the global options, then dispatches on the first word.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluicectl {

namespace po = boost::program_options;

// Documented exit codes (docs/sluicectl.md).
inline constexpr int kExitOk = 0;       // success
inline constexpr int kExitFailure = 1;  // runtime or input error (bad file, bad source, ...)
inline constexpr int kExitUsage = 2;    // usage error (unknown command or option, bad argument)

// Thrown by a command for a usage error: main prints it with a hint and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Context {
  std::string command_path;       // "sluicectl table", for messages and help
  std::vector<std::string> args;  // the words after the command word
  const po::variables_map &globals;
  std::ostream &out;
  std::ostream &err;
};

using CommandFn = std::function<int(Context &)>;

struct Command {
  std::string name;
  std::string summary;  // one line for `sluicectl --help`
  CommandFn run;
};

class CommandRegistry {
 public:
  static CommandRegistry &instance();

  void add(Command c);
  const Command *find(std::string_view name) const;
  const std::map<std::string, Command, std::less<>> &commands() const { return commands_; }

  void add_global_options(std::function<void(po::options_description &)> describe);
  void describe_global_options(po::options_description &d) const;

 private:
  std::map<std::string, Command, std::less<>> commands_;
  std::vector<std::function<void(po::options_description &)>> global_options_;
};

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string summary, CommandFn run);
};

struct GlobalOptionsRegistrar {
  explicit GlobalOptionsRegistrar(std::function<void(po::options_description &)> describe);
};

// Helpers for commands: parse `args` against `options` (+ positional), with --help handled by
// the caller. Throws UsageError on a po::error, with the command path in the message.
po::variables_map parse_args(const Context &ctx, const std::vector<std::string> &args,
                             const po::options_description &options,
                             const po::positional_options_description &positional);

}  // namespace sluicectl
