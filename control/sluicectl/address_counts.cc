#include "address_counts.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "dataplane_connect.h"
#include "text_table.h"

namespace sluicectl {

int run_address_counts(Context &ctx, const AddressCountsCommand &c) {
  CommandOptions opts;
  opts.visible.add_options()("limit", po::value<unsigned>()->default_value(100)->value_name("N"),
                             c.limit_help);
  const std::string json_help = fmt::format("the list as JSON: address, {}", c.column);
  opts.json(json_help.c_str());
  const auto vm = parse_command(ctx, opts, {c.usage, c.help});
  if (!vm) return kExitOk;
  const unsigned limit = (*vm)["limit"].as<unsigned>();
  if (limit < 1 || limit > 10000)
    throw UsageError(fmt::format("--limit must be 1..10000, not {}", limit));
  try {
    const auto list = c.fetch(*dataplane_for(ctx), limit);
    if (vm->count("json") > 0) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto &e : list) a.push_back({{"address", e.address}, {c.column, e.count}});
      ctx.out << a.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    TextTable t({"address", c.column});
    for (const auto &e : list) t.row({e.address, std::to_string(e.count)});
    t.print(ctx.out);
    ctx.out << list.size() << " " << c.noun << "\n";
  } catch (const sluice::control::DataplaneError &e) {
    ctx.err << ctx.command_path << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace sluicectl
