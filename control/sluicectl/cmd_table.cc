// sluicectl table: build, lookup, explain, diff and stats of the compiled reputation table.
// Human-readable tables by default, --json for scripts (docs/sluicectl.md).
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "sluice/reputation/compile.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/explain.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/reputation/sources_file.h"
#include "text_table.h"

#include "policy_file.h"

namespace sluicectl {
namespace {

namespace rep = sluice::reputation;
using nlohmann::json;

// ---- shared helpers ---------------------------------------------------------------------------

std::string code_text(uint32_t code) {
  return code ? rep::format_ipv4(code) : "";
}
std::string signed_text(int64_t v) {
  return v > 0 ? fmt::format("+{}", v) : fmt::format("{}", v);
}

rep::IpAddress parse_address_arg(const std::string &a) {
  auto ip = rep::parse_ip(a);
  if (!ip) throw UsageError(fmt::format("'{}' is not an IPv4 or IPv6 address", a));
  return *ip;
}

// "--thresholds 3,5,8": thresholds of levels 1, 2, 3 (non-decreasing).
std::vector<int32_t> parse_thresholds(const std::string &s) {
  std::vector<int32_t> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string part = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int32_t v;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size())
      throw UsageError(fmt::format("bad --thresholds '{}': expected integers like 3,5,8", s));
    if (!out.empty() && v < out.back())
      throw UsageError(fmt::format("bad --thresholds '{}': must not decrease", s));
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (out.empty()) throw UsageError("empty --thresholds");
  return out;
}

// Thresholds (and level names) for showing levels: from --thresholds, or from the data plane's
// policy file with --policy (docs/policy.md) when sluicectl is built with the policy library.
struct Levels {
  std::vector<int32_t> thresholds;  // [k] opens level k + 1
  std::vector<std::string> names;   // [level], may be empty
  bool any() const { return !thresholds.empty(); }
  std::string text(uint32_t level) const {
    if (level < names.size() && !names[level].empty())
      return fmt::format("{} ({})", level, names[level]);
    return std::to_string(level);
  }
};

void add_level_options(po::options_description &opts) {
  opts.add_options()("thresholds", po::value<std::string>()->value_name("T1,T2,..."),
                     "show the level under these thresholds (of levels 1, 2, ...)");
  opts.add_options()("policy", po::value<std::string>()->value_name("FILE"),
                     "show the level under this policy file's thresholds");
}

Levels levels_from(const po::variables_map &vm) {
  Levels l;
  if (vm.count("thresholds") && vm.count("policy"))
    throw UsageError("--thresholds and --policy exclude each other");
  if (vm.count("thresholds")) l.thresholds = parse_thresholds(vm["thresholds"].as<std::string>());
  if (vm.count("policy")) {
    auto p = sluice::dataplane::load_policy(vm["policy"].as<std::string>());
    for (uint32_t i = 1; i < p.policy.nlevels && i < SL_MAX_LEVELS; ++i)
      l.thresholds.push_back(p.policy.thresholds[i]);
    l.names = p.level_names;
  }
  return l;
}

void print_help(std::ostream &os, const std::string &usage, const std::string &what,
                const po::options_description &opts) {
  os << "Usage: " << usage << "\n\n" << what << "\n\n" << opts;
}

struct Sub {
  const char *name;
  const char *summary;
  int (*run)(Context &);
};

// ---- table build ------------------------------------------------------------------------------

int cmd_build(Context &ctx) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")(
      "sources,s", po::value<std::string>()->value_name("FILE"), "the sources file (INI)")(
      "output,o", po::value<std::string>()->value_name("FILE"), "the table file to write")(
      "max-malformed", po::value<std::string>()->value_name("N"),
      "override every source's malformed-line limit")("json", "summary as JSON");
  auto vm = parse_args(ctx, ctx.args, opts, {});
  if (vm.count("help")) {
    print_help(ctx.out, "sluicectl table build --sources FILE --output FILE [--json]",
               "Parses every source of the sources file, compiles the table and writes it "
               "(temporary file + rename:\nan existing table is never replaced by a partial "
               "one). Malformed lines are reported on\nstderr as FILE:LINE: REASON, skipped "
               "and counted per source.",
               opts);
    return kExitOk;
  }
  if (!vm.count("sources")) throw UsageError("--sources FILE is required");
  if (!vm.count("output")) throw UsageError("--output FILE is required");
  rep::SourcesFile sf = rep::load_sources_file(vm["sources"].as<std::string>());
  if (vm.count("max-malformed")) {
    // Read as text: Boost converts "-1" to size_t's largest value, i.e. "no limit".
    const std::string n = vm["max-malformed"].as<std::string>();
    size_t limit = 0;
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), limit);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size())
      throw UsageError(fmt::format("bad --max-malformed '{}': expected a non-negative integer", n));
    for (auto &s : sf.sources) s.max_malformed = limit;
  }
  rep::BuildResult r = rep::build(sf);
  for (const auto &s : r.sources)
    for (const auto &p : s.problems) ctx.err << p << "\n";
  const std::string out_path = vm["output"].as<std::string>();
  r.table.save(out_path);
  const size_t bytes = r.table.serialize().size();
  const auto &t = r.table;
  if (vm.count("json")) {
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

// ---- table lookup -----------------------------------------------------------------------------

int cmd_lookup(Context &ctx) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")(
      "table,t", po::value<std::string>()->value_name("FILE"), "the table file")(
      "json", "output JSON")("address", po::value<std::vector<std::string>>(), "addresses");
  add_level_options(opts);
  po::positional_options_description pos;
  pos.add("address", -1);
  auto vm = parse_args(ctx, ctx.args, opts, pos);
  if (vm.count("help")) {
    print_help(ctx.out, "sluicectl table lookup --table FILE ADDR... [--thresholds T1,T2,...]",
               "Looks addresses up in a compiled table as a data plane does: the exact host "
               "entry, else the\nlongest prefix. An address the table does not match scores 0.",
               opts);
    return kExitOk;
  }
  if (!vm.count("table")) throw UsageError("--table FILE is required");
  if (!vm.count("address")) throw UsageError("at least one address is required");
  const Levels levels = levels_from(vm);
  std::vector<rep::IpAddress> addrs;
  for (const auto &a : vm["address"].as<std::vector<std::string>>())
    addrs.push_back(parse_address_arg(a));
  rep::Snapshot t = rep::Snapshot::load(vm["table"].as<std::string>());
  json j = json::array();
  TextTable tt(!levels.any()
                   ? std::vector<std::string>{"address", "match", "score", "allow"}
                   : std::vector<std::string>{"address", "match", "score", "allow", "level"});
  for (const auto &a : addrs) {
    rep::Match m;
    std::string match = "-";
    if (a.family == 4) {
      m = t.match_v4(sl_htonl(a.v4));
      if (m.kind == rep::Match::Kind::kPrefix)
        match = rep::format_prefix<uint32_t>(sl_ntohl(t.prefixes_v4()[m.index].addr_be), m.len);
    } else {
      uint8_t b[16];
      rep::v6_to_bytes(a.v6, b);
      m = t.match_v6(b);
      if (m.kind == rep::Match::Kind::kPrefix)
        match =
            rep::format_prefix<rep::U128>(rep::v6_from_bytes(t.prefixes_v6()[m.index].addr), m.len);
    }
    if (m.kind == rep::Match::Kind::kHost) match = "host";
    const bool allow = m.value.flags & SL_REP_ALLOW;
    const char *kind = m.kind == rep::Match::Kind::kHost     ? "host"
                       : m.kind == rep::Match::Kind::kPrefix ? "prefix"
                                                             : "none";
    json e = {{"address", rep::format_ip(a)},
              {"match", kind},
              {"score", m.value.score},
              {"allow", allow}};
    if (m.kind == rep::Match::Kind::kPrefix) e["prefix"] = match;
    std::vector<std::string> row{rep::format_ip(a), match, std::to_string(m.value.score),
                                 allow ? "yes" : "no"};
    if (levels.any()) {
      uint32_t level = rep::level_for(levels.thresholds, m.value.score, m.value.flags);
      e["level"] = level;
      if (level < levels.names.size()) e["level_name"] = levels.names[level];
      row.push_back(levels.text(level));
    }
    j.push_back(e);
    tt.row(row);
  }
  if (vm.count("json"))
    ctx.out << j.dump(2) << "\n";
  else
    tt.print(ctx.out);
  return kExitOk;
}

// ---- table explain ----------------------------------------------------------------------------

int cmd_explain(Context &ctx) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")(
      "sources,s", po::value<std::string>()->value_name("FILE"), "the sources file (INI)")(
      "json", "output JSON")("address", po::value<std::vector<std::string>>(), "addresses");
  add_level_options(opts);
  po::positional_options_description pos;
  pos.add("address", -1);
  auto vm = parse_args(ctx, ctx.args, opts, pos);
  if (vm.count("help")) {
    print_help(ctx.out, "sluicectl table explain --sources FILE ADDR... [--thresholds T1,T2,...]",
               "Shows, for each address, every source entry that covers it, which entry decides "
               "for each\nsource (the most specific; an exclusion wins a tie), each source's "
               "contribution, the\nresulting score and allow flag, and the level under the "
               "given thresholds.",
               opts);
    return kExitOk;
  }
  if (!vm.count("sources")) throw UsageError("--sources FILE is required");
  if (!vm.count("address")) throw UsageError("at least one address is required");
  const Levels levels = levels_from(vm);
  std::vector<rep::IpAddress> addrs;
  for (const auto &a : vm["address"].as<std::vector<std::string>>())
    addrs.push_back(parse_address_arg(a));
  rep::SourcesFile sf = rep::load_sources_file(vm["sources"].as<std::string>());
  std::vector<rep::ParsedSource> parsed = rep::parse_all(sf);
  for (const auto &p : parsed)
    for (const auto &msg : p.problems) ctx.err << msg << "\n";
  json all = json::array();
  bool first = true;
  for (const auto &a : addrs) {
    rep::Explanation x = rep::explain(sf, parsed, a);
    json j = {{"address", rep::format_ip(a)},
              {"score", x.value.score},
              {"allow", x.allow},
              {"sources", json::array()}};
    uint32_t level = rep::level_for(levels.thresholds, x.value.score, x.value.flags);
    if (levels.any()) {
      j["level"] = level;
      if (level < levels.names.size()) j["level_name"] = levels.names[level];
    }
    TextTable tt({"source", "weight", "entry", "code", "where", "status", "line"});
    for (const auto &s : x.sources) {
      json js = {{"name", s.name},
                 {"type", std::string(rep::to_string(s.type))},
                 {"allow", s.allow},
                 {"listed", s.listed},
                 {"contribution", s.contribution},
                 {"entries", json::array()}};
      bool first_row = true;
      for (const auto &e : s.entries) {
        const std::string where =
            fmt::format("{}:{}", std::filesystem::path(s.path).filename().string(), e.line);
        js["entries"].push_back({{"prefix", e.prefix},
                                 {"exclude", e.exclude},
                                 {"code", code_text(e.code)},
                                 {"weight", e.weight},
                                 {"file", s.path},
                                 {"line", e.line},
                                 {"text", e.text},
                                 {"decides", e.decides}});
        std::string status = !e.decides  ? "shadowed"
                             : e.exclude ? "excluded"
                             : s.allow   ? "decides (allow)"
                                         : "decides";
        tt.row({first_row ? s.name : "", e.decides && !e.exclude ? signed_text(e.weight) : "",
                (e.exclude ? "!" : "") + e.prefix, code_text(e.code), where, status, e.text});
        first_row = false;
      }
      j["sources"].push_back(js);
    }
    all.push_back(j);
    if (vm.count("json")) continue;
    if (!first) ctx.out << "\n";
    first = false;
    std::string head = fmt::format("{}: score {}{}", rep::format_ip(a), x.value.score,
                                   x.allow ? ", allowlisted" : "");
    if (levels.any()) head += fmt::format(", level {}", levels.text(level));
    ctx.out << head << "\n";
    if (tt.empty())
      ctx.out << "  no source lists it\n";
    else
      tt.print(ctx.out, "  ");
  }
  if (vm.count("json")) ctx.out << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  return kExitOk;
}

// ---- table diff -------------------------------------------------------------------------------

template <class E>
std::string entry_key(const E &e);
template <>
std::string entry_key(const rep::HostV4 &e) {
  return rep::format_ipv4(sl_ntohl(e.addr_be));
}
template <>
std::string entry_key(const rep::PrefixV4 &e) {
  return rep::format_prefix<uint32_t>(sl_ntohl(e.addr_be), e.len);
}
template <>
std::string entry_key(const rep::HostV6 &e) {
  return rep::format_ipv6(rep::v6_from_bytes(e.addr));
}
template <>
std::string entry_key(const rep::PrefixV6 &e) {
  return rep::format_prefix<rep::U128>(rep::v6_from_bytes(e.addr), e.len);
}

std::string value_text(const sl_rep_value &v) {
  return fmt::format("{}{}", v.score, v.flags & SL_REP_ALLOW ? " allow" : "");
}

// Old values of changed entries, by key, for display.
template <class E>
std::map<std::string, sl_rep_value> old_values(std::span<const E> old_entries,
                                               const std::vector<E> &changed) {
  std::map<std::string, sl_rep_value> want;
  for (const auto &e : changed) want[entry_key(e)] = {};
  for (const auto &e : old_entries)
    if (auto it = want.find(entry_key(e)); it != want.end()) it->second = e.value;
  return want;
}

template <class E>
void list_changes(const rep::EntryChanges<E> &c, std::span<const E> old_entries, size_t &budget,
                  TextTable &tt, json &j) {
  auto olds = c.changed.empty() ? std::map<std::string, sl_rep_value>{}
                                : old_values(old_entries, c.changed);
  auto emit = [&](const char *what, const E &e, const std::string &from, const std::string &to) {
    j.push_back({{"change", what}, {"entry", entry_key(e)}, {"old", from}, {"new", to}});
    if (budget == 0) return;
    --budget;
    tt.row({what, entry_key(e), from, to});
  };
  for (const auto &e : c.added) emit("add", e, "", value_text(e.value));
  for (const auto &e : c.changed)
    emit("change", e, value_text(olds[entry_key(e)]), value_text(e.value));
  for (const auto &e : c.removed) emit("remove", e, value_text(e.value), "");
}

int cmd_diff(Context &ctx) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")("output,o",
                                                 po::value<std::string>()->value_name("DELTA"),
                                                 "also write the delta file (for live updates)")(
      "limit", po::value<size_t>()->default_value(20)->value_name("N"),
      "list at most N changes in the human output")("json", "output JSON (every change)")(
      "tables", po::value<std::vector<std::string>>(), "OLD NEW");
  po::positional_options_description pos;
  pos.add("tables", 2);
  auto vm = parse_args(ctx, ctx.args, opts, pos);
  if (vm.count("help")) {
    print_help(ctx.out, "sluicectl table diff OLD NEW [--output DELTA] [--json]",
               "Compares two compiled tables: entries added, changed and removed, per kind. "
               "Applying the\ndelta (upsert added and changed, delete removed) to OLD gives NEW.",
               opts);
    return kExitOk;
  }
  if (!vm.count("tables") || vm["tables"].as<std::vector<std::string>>().size() != 2)
    throw UsageError("two tables are required: OLD NEW");
  const auto &paths = vm["tables"].as<std::vector<std::string>>();
  rep::Snapshot a = rep::Snapshot::load(paths[0]);
  rep::Snapshot b = rep::Snapshot::load(paths[1]);
  rep::Delta d = rep::diff(a, b);
  if (vm.count("output")) d.save(vm["output"].as<std::string>());
  size_t budget = vm.count("json") ? 0 : vm["limit"].as<size_t>();
  TextTable changes({"change", "entry", "old", "new"});
  json list = json::array();
  list_changes(d.hosts_v4, a.hosts_v4(), budget, changes, list);
  list_changes(d.prefixes_v4, a.prefixes_v4(), budget, changes, list);
  list_changes(d.hosts_v6, a.hosts_v6(), budget, changes, list);
  list_changes(d.prefixes_v6, a.prefixes_v6(), budget, changes, list);
  auto counts = [](const auto &c) {
    return json{
        {"added", c.added.size()}, {"changed", c.changed.size()}, {"removed", c.removed.size()}};
  };
  if (vm.count("json")) {
    json j = {{"hosts_v4", counts(d.hosts_v4)},
              {"prefixes_v4", counts(d.prefixes_v4)},
              {"hosts_v6", counts(d.hosts_v6)},
              {"prefixes_v6", counts(d.prefixes_v6)},
              {"total", d.size()},
              {"changes", list}};
    if (vm.count("output")) j["output"] = vm["output"].as<std::string>();
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  TextTable tt({"kind", "added", "changed", "removed"});
  auto row = [&](const char *k, const auto &c) {
    tt.row({k, std::to_string(c.added.size()), std::to_string(c.changed.size()),
            std::to_string(c.removed.size())});
  };
  row("IPv4 hosts", d.hosts_v4);
  row("IPv4 prefixes", d.prefixes_v4);
  row("IPv6 hosts", d.hosts_v6);
  row("IPv6 prefixes", d.prefixes_v6);
  tt.print(ctx.out);
  ctx.out << fmt::format("\n{} changes", d.size());
  if (vm.count("output")) ctx.out << ", delta written to " << vm["output"].as<std::string>();
  ctx.out << "\n";
  if (!changes.empty()) {
    ctx.out << "\n";
    changes.print(ctx.out);
    if (d.size() > vm["limit"].as<size_t>())
      ctx.out << fmt::format("... and {} more (--limit, --json)\n",
                             d.size() - vm["limit"].as<size_t>());
  }
  return kExitOk;
}

// ---- table stats ------------------------------------------------------------------------------

template <class E>
void tally(std::span<const E> entries, size_t &allow, int32_t &lo, int32_t &hi, bool &any) {
  for (const auto &e : entries) {
    allow += (e.value.flags & SL_REP_ALLOW) != 0;
    if (!any || e.value.score < lo) lo = e.value.score;
    if (!any || e.value.score > hi) hi = e.value.score;
    any = true;
  }
}

int cmd_stats(Context &ctx) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")("table,t",
                                                 po::value<std::string>()->value_name("FILE"),
                                                 "the table file")("json", "output JSON");
  po::positional_options_description pos;
  pos.add("table", 1);
  auto vm = parse_args(ctx, ctx.args, opts, pos);
  if (vm.count("help")) {
    print_help(ctx.out, "sluicectl table stats --table FILE [--json]",
               "Validates a table file (magic, version, size, checksum, order) and shows its "
               "header and\nentry counts, allowlisted entries and the score range.",
               opts);
    return kExitOk;
  }
  if (!vm.count("table")) throw UsageError("--table FILE is required");
  const std::string path = vm["table"].as<std::string>();
  rep::Snapshot t = rep::Snapshot::load(path);
  const size_t bytes = std::filesystem::file_size(path);
  size_t allow = 0;
  int32_t lo = 0, hi = 0;
  bool any = false;
  tally(t.hosts_v4(), allow, lo, hi, any);
  tally(t.prefixes_v4(), allow, lo, hi, any);
  tally(t.hosts_v6(), allow, lo, hi, any);
  tally(t.prefixes_v6(), allow, lo, hi, any);
  std::map<int, size_t> len4, len6;
  for (const auto &p : t.prefixes_v4()) ++len4[p.len];
  for (const auto &p : t.prefixes_v6()) ++len6[p.len];
  const std::string created = fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                                          fmt::gmtime(static_cast<std::time_t>(t.created_unix())));
  const std::string checksum = fmt::format("{:016x}", t.checksum());
  if (vm.count("json")) {
    json j = {{"file", path},
              {"version", rep::kSnapshotVersion},
              {"bytes", bytes},
              {"created_unix", t.created_unix()},
              {"checksum", checksum},
              {"hosts_v4", t.hosts_v4().size()},
              {"prefixes_v4", t.prefixes_v4().size()},
              {"hosts_v6", t.hosts_v6().size()},
              {"prefixes_v6", t.prefixes_v6().size()},
              {"allow_entries", allow}};
    if (any) j["score_min"] = lo, j["score_max"] = hi;
    json l4 = json::object(), l6 = json::object();
    for (auto [l, n] : len4) l4[std::to_string(l)] = n;
    for (auto [l, n] : len6) l6[std::to_string(l)] = n;
    j["prefix_lengths_v4"] = l4;
    j["prefix_lengths_v6"] = l6;
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  auto lens = [](const std::map<int, size_t> &m) {
    std::string s;
    for (auto [l, n] : m) s += fmt::format("{}/{}: {}", s.empty() ? "" : ", ", l, n);
    return s.empty() ? std::string("-") : s;
  };
  TextTable tt({"field", "value"});
  tt.row({"file", path});
  tt.row({"format version", std::to_string(rep::kSnapshotVersion)});
  tt.row({"size (bytes)", std::to_string(bytes)});
  tt.row({"created", created});
  tt.row({"checksum", checksum});
  tt.row({"IPv4 hosts", std::to_string(t.hosts_v4().size())});
  tt.row({"IPv4 prefixes", std::to_string(t.prefixes_v4().size())});
  tt.row({"IPv6 hosts", std::to_string(t.hosts_v6().size())});
  tt.row({"IPv6 prefixes", std::to_string(t.prefixes_v6().size())});
  tt.row({"allowlisted entries", std::to_string(allow)});
  tt.row({"score range", any ? fmt::format("{} .. {}", lo, hi) : "-"});
  tt.row({"IPv4 prefix lengths", lens(len4)});
  tt.row({"IPv6 prefix lengths", lens(len6)});
  tt.print(ctx.out);
  return kExitOk;
}

// ---- dispatch ---------------------------------------------------------------------------------

constexpr Sub kSubs[] = {
    {"build", "compile a sources file into a table file", cmd_build},
    {"lookup", "look addresses up in a table file", cmd_lookup},
    {"explain", "show which sources make an address's score", cmd_explain},
    {"diff", "compare two table files (and write a delta)", cmd_diff},
    {"stats", "validate a table file and show its counts", cmd_stats},
};

void table_usage(std::ostream &os) {
  os << "Usage: sluicectl table SUBCOMMAND [OPTIONS]\n\nSubcommands:\n";
  for (const Sub &s : kSubs) os << fmt::format("  {:<9}{}\n", s.name, s.summary);
  os << "\nRun 'sluicectl table SUBCOMMAND --help' for its options.\n";
}

int run_table(Context &ctx) {
  if (ctx.args.empty()) {
    table_usage(ctx.err);
    return kExitUsage;
  }
  const std::string word = ctx.args.front();
  if (word == "--help" || word == "-h" || word == "help") {
    table_usage(ctx.out);
    return kExitOk;
  }
  for (const Sub &s : kSubs) {
    if (word != s.name) continue;
    ctx.args.erase(ctx.args.begin());
    ctx.command_path += " " + word;
    return s.run(ctx);
  }
  throw UsageError(
      fmt::format("unknown subcommand '{}' (build, lookup, explain, diff, stats)", word));
}

const CommandRegistrar kTable("table",
                              "build, look up, explain, diff and inspect the reputation table",
                              run_table);

}  // namespace
}  // namespace sluicectl
