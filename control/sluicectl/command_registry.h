// sluicectl's command registry. Each cmd_*.cc file registers its command(s) with a static
// CommandRegistrar under a path of words ("table build", "dataplane table load"); the words
// before the last form groups ("table", "dataplane table"), which a GroupRegistrar describes.
// A file may add global options (before the command words, e.g. `sluicectl --dataplane
// dpdk:/run/sluice/sluice-dp.sock dataplane stats`) with a GlobalOptionsRegistrar.
// main.cc parses the global options, then runs the command whose path is the longest run of
// leading words; a group alone prints its commands.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
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
  std::string command_path;       // "sluicectl table build", for messages and help
  std::vector<std::string> args;  // the words after the command's path
  const po::variables_map &globals;
  std::ostream &out;
  std::ostream &err;
};

using CommandFn = std::function<int(Context &)>;

struct Command {
  std::string path;     // "table build"
  std::string summary;  // one line for the group's help
  CommandFn run;
};

class CommandRegistry {
 public:
  static CommandRegistry &instance();

  void add(Command c);
  void describe_group(std::string path, std::string summary);
  const Command *find(std::string_view path) const;
  bool is_group(std::string_view path) const;  // some command's path starts with "path "
  // The direct children of a group ("" = top level): name -> summary.
  std::map<std::string, std::string> children(std::string_view group) const;

  void add_global_options(std::function<void(po::options_description &)> describe);
  void describe_global_options(po::options_description &d) const;

 private:
  std::map<std::string, Command, std::less<>> commands_;
  std::map<std::string, std::string, std::less<>> group_summaries_;
  std::vector<std::function<void(po::options_description &)>> global_options_;
};

struct CommandRegistrar {
  CommandRegistrar(std::string path, std::string summary, CommandFn run);
};

struct GroupRegistrar {
  GroupRegistrar(std::string path, std::string summary);
};

struct GlobalOptionsRegistrar {
  explicit GlobalOptionsRegistrar(std::function<void(po::options_description &)> describe);
};

// ---- the options every command shares ---------------------------------------------------------

// What `COMMAND --help` prints above the options.
struct CommandHelp {
  std::string usage;        // after "Usage: "
  std::string description;  // a paragraph
};

// A command's options: the visible ones (help text), hidden ones for positional words, and the
// positional layout. --help and --version are added by parse_command.
struct CommandOptions {
  po::options_description visible{"Options"};
  po::options_description hidden;
  po::positional_options_description positional;

  CommandOptions &json(const char *what = "machine-readable output (JSON)");
  // A positional argument (max = -1: any number), hidden from the option list.
  CommandOptions &words(const char *name, int max, const char *what);
};

// Parses ctx.args. --help prints the help to ctx.out and --version the version; both return
// nullopt (the command then returns kExitOk). A bad option or argument throws UsageError.
std::optional<po::variables_map> parse_command(Context &ctx, CommandOptions &opts,
                                               const CommandHelp &help);

// The version line every command prints for --version.
std::string version_line();

}  // namespace sluicectl
