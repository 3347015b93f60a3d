// sluicectl table build: parse every source of a sources file and compile the table file.
#include <charconv>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "sluice/reputation/compile.h"
#include "sluice/reputation/sources_file.h"
#include "text_table.h"

namespace sluicectl {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;

int run(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("sources,s", po::value<std::string>()->value_name("FILE"),
                             "the sources file (INI)")(
      "output,o", po::value<std::string>()->value_name("FILE"), "the table file to write")(
      "max-malformed", po::value<std::string>()->value_name("N"),
      "override every source's malformed-line limit");
  opts.json("summary as JSON");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl table build --sources FILE --output FILE [--json]",
       "Parses every source of the sources file, compiles the table and writes it (temporary "
       "file + rename:\nan existing table is never replaced by a partial one). Malformed lines "
       "are reported on\nstderr as FILE:LINE: REASON, skipped and counted per source. Gzipped "
       "lists are read\ntransparently. A source that cannot be read, is larger than its "
       "max_size, is a truncated\nor corrupt gzip stream, or lists nothing (unless allow_empty "
       "= true) fails the build."});
  if (!vm) return kExitOk;
  if (!vm->count("sources")) throw UsageError("--sources FILE is required");
  if (!vm->count("output")) throw UsageError("--output FILE is required");
  rep::SourcesFile sf = rep::load_sources_file((*vm)["sources"].as<std::string>());
  if (vm->count("max-malformed")) {
    // Read as text: Boost converts "-1" to size_t's largest value, i.e. "no limit".
    const std::string n = (*vm)["max-malformed"].as<std::string>();
    size_t limit = 0;
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), limit);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size())
      throw UsageError(fmt::format("bad --max-malformed '{}': expected a non-negative integer", n));
    for (auto &s : sf.sources) s.max_malformed = limit;
  }
  rep::BuildResult r = rep::build(sf);
  for (const auto &s : r.sources)
    for (const auto &p : s.problems) ctx.err << p << "\n";
  const std::string out_path = (*vm)["output"].as<std::string>();
  r.table.save(out_path);
  const size_t bytes = r.table.serialize().size();
  const auto &t = r.table;
  if (vm->count("json")) {
    json j;
    j["output"] = out_path;
    j["bytes"] = bytes;
    j["hosts_v4"] = t.hosts_v4().size();
    j["prefixes_v4"] = t.prefixes_v4().size();
    j["hosts_v6"] = t.hosts_v6().size();
    j["prefixes_v6"] = t.prefixes_v6().size();
    j["parse_seconds"] = r.parse_seconds;
    j["compile_seconds"] = r.compile_seconds;
    j["sources"] = json::array();
    for (const auto &s : r.sources)
      j["sources"].push_back({{"name", s.name},
                              {"type", std::string(rep::to_string(s.type))},
                              {"path", s.path},
                              {"lines", s.lines},
                              {"entries", s.entries},
                              {"prefixes_v4", s.prefixes_v4},
                              {"prefixes_v6", s.prefixes_v6},
                              {"malformed", s.problems.size()}});
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  TextTable tt({"source", "type", "lines", "entries", "v4", "v6", "malformed"});
  for (const auto &s : r.sources)
    tt.row({s.name, std::string(rep::to_string(s.type)), std::to_string(s.lines),
            std::to_string(s.entries), std::to_string(s.prefixes_v4), std::to_string(s.prefixes_v6),
            std::to_string(s.problems.size())});
  tt.print(ctx.out);
  ctx.out << fmt::format(
      "\nwrote {} ({} bytes): {} IPv4 hosts, {} IPv4 prefixes, {} IPv6 hosts, {} IPv6 "
      "prefixes\nparsed in {:.3f} s, compiled in {:.3f} s\n",
      out_path, bytes, t.hosts_v4().size(), t.prefixes_v4().size(), t.hosts_v6().size(),
      t.prefixes_v6().size(), r.parse_seconds, r.compile_seconds);
  return kExitOk;
}

const CommandRegistrar kBuild("table build", "compile a sources file into a table file", run);

}  // namespace
}  // namespace sluicectl
