#include "command_registry.h"

namespace sluicectl {

CommandRegistry &CommandRegistry::instance() {
  static CommandRegistry registry;  // constructed on first use: safe from static registrars
  return registry;
}

void CommandRegistry::add(Command c) {
  std::string name = c.name;
  if (!commands_.emplace(name, std::move(c)).second)
    throw std::logic_error("sluicectl: command '" + name + "' registered twice");
}

const Command *CommandRegistry::find(std::string_view name) const {
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : &it->second;
}

void CommandRegistry::add_global_options(std::function<void(po::options_description &)> d) {
  global_options_.push_back(std::move(d));
}

void CommandRegistry::describe_global_options(po::options_description &d) const {
  for (const auto &f : global_options_) f(d);
}

CommandRegistrar::CommandRegistrar(std::string name, std::string summary, CommandFn run) {
  CommandRegistry::instance().add({std::move(name), std::move(summary), std::move(run)});
}

GlobalOptionsRegistrar::GlobalOptionsRegistrar(
    std::function<void(po::options_description &)> describe) {
  CommandRegistry::instance().add_global_options(std::move(describe));
}

po::variables_map parse_args(const Context &ctx, const std::vector<std::string> &args,
                             const po::options_description &options,
                             const po::positional_options_description &positional) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError(e.what());
  }
  (void)ctx;
  return vm;
}

}  // namespace sluicectl
