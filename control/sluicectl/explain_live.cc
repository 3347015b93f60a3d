#include "explain_live.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "daemon_call.h"
#include "host_entry_text.h"
#include "learn_text.h"
#include "sluice/reputation/explain.h"
#include "text_table.h"

namespace sluicectl {

namespace rep = sluice::reputation;
using nlohmann::json;

int explain_live(Context &ctx, const po::variables_map &vm,
                 const std::vector<rep::IpAddress> &addrs, const Levels &levels) {
  json all = json::array();
  bool first = true;
  for (const auto &a : addrs) {
    json j = daemon_call(ctx, {{"cmd", "explain"}, {"address", rep::format_ip(a)}});
    j.erase("ok");
    const int32_t score = j.value("score", 0);
    const uint32_t flags =
        (j.value("allow", false) ? SL_REP_ALLOW : 0u) | (j.value("deny", false) ? SL_REP_DENY : 0u);
    const uint32_t level = rep::level_for(levels.thresholds, score, flags);
    if (levels.any()) {
      j["level"] = level;
      if (level < levels.names.size()) j["level_name"] = levels.names[level];
    }
    // Local sources (local:KIND): what the local score model learned, kind by kind.
    std::map<std::string, json> local;
    for (const auto &s : j["sources"])
      if (s.value("name", "").rfind("local:", 0) == 0 && j.find("local") == j.end()) {
        try {
          json l = daemon_call(ctx, {{"cmd", "learn explain"}, {"addr", j.value("address", "")}});
          l.erase("ok");
          j["local"] = l;
        } catch (const std::exception &) {
          // An older sluiced: the sources still show, without the local detail.
        }
      }
    if (j.contains("local"))
      for (const auto &k : j["local"].value("kinds", json::array()))
        local["local:" + k.value("kind", "")] = k;
    all.push_back(j);
    if (vm.count("json")) continue;
    if (!first) ctx.out << "\n";
    first = false;
    std::string head = fmt::format("{}: score {}{}{}", j.value("address", "?"), score,
                                   (flags & SL_REP_ALLOW) ? ", allowlisted" : "",
                                   (flags & SL_REP_DENY) ? ", denied" : "");
    if (levels.any()) head += fmt::format(", level {}", levels.text(level));
    ctx.out << head << " (sluiced's table)\n";
    const int64_t now = j.value("now", int64_t{0});
    TextTable tt({"source", "weight", "entry", "code", "status", "expires", "reason / line"});
    for (const auto &s : j["sources"]) {
      bool first_row = true;
      const bool dynamic = s.contains("dynamic");
      const json &rows = dynamic ? s["dynamic"] : s["entries"];
      for (const auto &e : rows) {
        const bool decides = e.value("decides", false);
        std::string weight, status;
        if (dynamic) {
          weight = decides && e.value("action", "") == "score"
                       ? fmt::format("{:+}", e.value("score", 0))
                       : "";
          status = decides ? "decides (" + action_text(e) + ")" : "shadowed";
        } else {
          weight = decides && !e.value("exclude", false) ? fmt::format("{:+}", e.value("weight", 0))
                                                         : "";
          status = !decides ? "shadowed" : e.value("exclude", false) ? "excluded" : "decides";
          if (decides && s.value("allow", false)) status += " (allow)";
        }
        std::string why =
            dynamic ? e.value("reason", "") +
                          (e.value("origin", "").empty() ? "" : " [" + e.value("origin", "") + "]")
                    : e.value("text", "");
        if (auto l = local.find(s.value("name", "")); l != local.end())
          why = learn_kind_reason(l->second);
        std::string codes;  // rbldnsd return codes, joined as table explain --sources shows them
        if (e.contains("codes") && e["codes"].is_array())
          for (const auto &c : e["codes"]) {
            if (!codes.empty()) codes += '+';
            codes += c.is_string() ? c.get<std::string>() : std::string("?");
          }
        tt.row({first_row ? s.value("name", "?") : "", weight,
                (e.value("exclude", false) ? "!" : "") + e.value("prefix", "?"), codes, status,
                dynamic ? expiry_text(e["expires"], now) : "", why});
        first_row = false;
      }
    }
    if (tt.empty())
      ctx.out << "  no source lists it\n";
    else
      tt.print(ctx.out, "  ");
  }
  if (vm.count("json")) ctx.out << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  return kExitOk;
}

}  // namespace sluicectl
