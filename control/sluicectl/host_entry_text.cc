#include "host_entry_text.h"

#include <fmt/format.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <ostream>

#include "daemon_call.h"

namespace sluicectl {

using nlohmann::json;

std::string expiry_text(const json &expires, int64_t now) {
  if (!expires.is_number_integer()) return "never";
  const int64_t t = expires.get<int64_t>();
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  char buf[40] = "?";
  if (gmtime_r(&tt, &tm)) std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return t > now ? fmt::format("{} (in {})", buf, format_age(json(t - now)))
                 : fmt::format("{} (due)", buf);
}

std::string action_text(const json &e) {
  const std::string a = e.value("action", "?");
  if (a == "score") return fmt::format("score {:+}", e.value("score", 0));
  return a;
}

std::string entry_line(const json &e, int64_t now) {
  std::string s = fmt::format("{} {}", e.value("prefix", "?"), action_text(e));
  s += e["expires"].is_null() ? ", no expiry" : ", expires " + expiry_text(e["expires"], now);
  if (!e.value("reason", "").empty()) s += ", reason: " + e.value("reason", "");
  return s;
}

void report_dataplanes(const json &reply, std::ostream &out, std::ostream &err) {
  if (!reply.contains("dataplanes") || !reply["dataplanes"].is_array()) return;
  for (const auto &d : reply["dataplanes"]) {
    const std::string spec = d.value("spec", "?");
    if (d.value("in_sync", false))
      out << "  " << spec << ": effective\n";
    else
      err << "sluicectl: warning: " << spec << " does not run the new table yet ("
          << (d.value("error", "").empty() ? std::string("not reachable") : d.value("error", ""))
          << "); sluiced pushes it when the data plane answers again\n";
  }
}

std::string origin_text() {
  std::string parent;
  std::ifstream comm("/proc/" + std::to_string(::getppid()) + "/comm");
  std::getline(comm, parent);
  std::string clean;
  for (char c : parent)
    if (c > 0x20 && c < 0x7f && clean.size() < 32) clean += c;
  return clean.empty() ? fmt::format("sluicectl uid {}", ::getuid())
                       : fmt::format("sluicectl uid {} (parent {})", ::getuid(), clean);
}

}  // namespace sluicectl
