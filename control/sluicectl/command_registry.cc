#include "command_registry.h"
#include "po_error_text.h"

#include <ostream>

namespace sluicectl {

CommandRegistry &CommandRegistry::instance() {
  static CommandRegistry registry;  // constructed on first use: safe from static registrars
  return registry;
}

void CommandRegistry::add(Command c) {
  std::string path = c.path;
  if (!commands_.emplace(path, std::move(c)).second)
    throw std::logic_error("sluicectl: command '" + path + "' registered twice");
}

void CommandRegistry::describe_group(std::string path, std::string summary) {
  group_summaries_[std::move(path)] = std::move(summary);
}

const Command *CommandRegistry::find(std::string_view path) const {
  auto it = commands_.find(path);
  return it == commands_.end() ? nullptr : &it->second;
}

bool CommandRegistry::is_group(std::string_view path) const {
  const std::string prefix = std::string(path) + " ";
  for (const auto &[p, c] : commands_)
    if (p.rfind(prefix, 0) == 0) return true;
  return false;
}

std::map<std::string, std::string> CommandRegistry::children(std::string_view group) const {
  const std::string prefix = group.empty() ? std::string() : std::string(group) + " ";
  std::map<std::string, std::string> out;
  for (const auto &[p, c] : commands_) {
    if (p.rfind(prefix, 0) != 0) continue;
    const std::string rest = p.substr(prefix.size());
    const size_t space = rest.find(' ');
    if (space == std::string::npos) {
      out[rest] = c.summary;
      continue;
    }
    const std::string child = rest.substr(0, space);
    const auto g = group_summaries_.find(prefix + child);
    if (!out.count(child)) out[child] = g == group_summaries_.end() ? "" : g->second;
  }
  return out;
}

void CommandRegistry::add_global_options(std::function<void(po::options_description &)> d) {
  global_options_.push_back(std::move(d));
}

void CommandRegistry::describe_global_options(po::options_description &d) const {
  for (const auto &f : global_options_) f(d);
}

CommandRegistrar::CommandRegistrar(std::string path, std::string summary, CommandFn run) {
  CommandRegistry::instance().add({std::move(path), std::move(summary), std::move(run)});
}

GroupRegistrar::GroupRegistrar(std::string path, std::string summary) {
  CommandRegistry::instance().describe_group(std::move(path), std::move(summary));
}

GlobalOptionsRegistrar::GlobalOptionsRegistrar(
    std::function<void(po::options_description &)> describe) {
  CommandRegistry::instance().add_global_options(std::move(describe));
}

CommandOptions &CommandOptions::json(const char *what) {
  visible.add_options()("json", what);
  return *this;
}

CommandOptions &CommandOptions::words(const char *name, int max, const char *what) {
  hidden.add_options()(name, po::value<std::vector<std::string>>(), what);
  positional.add(name, max);
  return *this;
}

std::string version_line() {
  return std::string("sluicectl ") + SLUICE_VERSION;
}

std::optional<po::variables_map> parse_command(Context &ctx, CommandOptions &opts,
                                               const CommandHelp &help) {
  opts.visible.add_options()("help,h", "show this help")("version", "show the version");
  po::options_description all;
  all.add(opts.visible).add(opts.hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(ctx.args).options(all).positional(opts.positional).run(), vm);
    if (vm.count("help")) {
      ctx.out << "Usage: " << help.usage << "\n\n" << help.description << "\n\n" << opts.visible;
      return std::nullopt;
    }
    if (vm.count("version")) {
      ctx.out << version_line() << "\n";
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError(sluice::po_error_text(e));
  }
  return vm;
}

}  // namespace sluicectl
