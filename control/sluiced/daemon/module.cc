#include "daemon/module.h"

namespace sluice::sluiced {
namespace {

std::vector<ModuleFactory> &factories() {
  static std::vector<ModuleFactory> f;  // constructed on first use: safe from static registrars
  return f;
}

}  // namespace

ModuleRegistrar::ModuleRegistrar(ModuleFactory make) {
  factories().push_back(std::move(make));
}

std::vector<std::unique_ptr<Module>> make_modules() {
  std::vector<std::unique_ptr<Module>> out;
  for (const auto &f : factories()) out.push_back(f());
  return out;
}

}  // namespace sluice::sluiced
