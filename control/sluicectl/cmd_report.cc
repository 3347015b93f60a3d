// sluicectl report ADDR: publish an observation about a sender to the collaboration feed
// through sluiced (docs/feed.md); sluicectl report --arf FILE|-: hand an ARF feedback report to
// sluiced (docs/complaints.md); sluicectl feed status | explain ADDR: what the feed brought.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "daemon_call.h"
#include "daemon_client.h"
#include "text_table.h"

namespace sluicectl {
namespace {

using nlohmann::json;

// The largest mail `report --arf` sends: its base64 and the request around it fit in one request
// to sluiced (daemon_client.h).
constexpr size_t kMaxArfMailBytes = (sluice::control::kMaxDaemonRequest - 1024) / 4 * 3;

std::string base64(const std::string &in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    const size_t n = std::min<size_t>(3, in.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// The mail in FILE, or on standard input for "-", at most kMaxArfMailBytes (runtime error, exit
// 1, beyond).
std::string read_mail(const std::string &file) {
  const bool stdin_ = file == "-";
  const int fd = stdin_ ? 0 : ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  const std::string name = stdin_ ? "standard input" : file;
  if (fd < 0) throw std::runtime_error(name + ": " + std::strerror(errno));
  std::string mail;
  char buf[65536];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const std::string err = std::strerror(errno);
      if (!stdin_) ::close(fd);
      throw std::runtime_error(name + ": " + err);
    }
    if (r == 0) break;
    mail.append(buf, static_cast<size_t>(r));
    if (mail.size() > kMaxArfMailBytes) {
      if (!stdin_) ::close(fd);
      throw std::runtime_error(
          fmt::format("{}: over {} bytes, the largest report mail a request to sluiced carries",
                      name, kMaxArfMailBytes));
    }
  }
  if (!stdin_) ::close(fd);
  return mail;
}

int report_arf(Context &ctx, const po::variables_map &found) {
  if (found.count("addr")) throw UsageError("ADDR and --arf exclude each other");
  for (const char *k : {"kind", "count", "window", "ttl", "evidence"})
    if (found.count(k) && !found[k].defaulted())
      throw UsageError(fmt::format("--{} does not apply to --arf", k));
  const std::string mail = read_mail(found["arf"].as<std::string>());
  const json r = daemon_call(ctx, {{"cmd", "report arf"}, {"mail_base64", base64(mail)}});
  const std::string result = r.value("result", "");
  if (result == "accepted" || result == "duplicate") {
    ctx.out << fmt::format("{}: {} complaint about {} (report {}){}\n", result,
                           r.value("feedback_type", ""), r.value("subject", ""), r.value("key", ""),
                           result == "duplicate" ? ", taken before: not counted again" : "");
    return kExitOk;
  }
  ctx.err << fmt::format("refused ({}): {}\n", r.value("reason", "?"), r.value("detail", ""));
  return kExitFailure;
}

int report(Context &ctx) {
  CommandOptions opts;
  opts.words("addr", 1, "the address or prefix");
  opts.visible.add_options()  //
      ("kind", po::value<std::string>()->default_value("complaint"),
       "complaint, trap_hit, conn_rate, pregreet, shaped, blocked or vouch")                    //
      ("count", po::value<int64_t>()->default_value(1), "how many times (1..1000000)")          //
      ("window", po::value<int64_t>()->default_value(60), "seconds the count was seen over")    //
      ("ttl", po::value<int64_t>()->default_value(3600), "suggested lifetime in seconds")       //
      ("evidence", po::value<std::string>(), "an id for the evidence (ticket, log reference)")  //
      ("arf", po::value<std::string>()->value_name("FILE"),
       "an ARF feedback report (one mail) from FILE, or standard input for -, instead of ADDR");
  const auto found = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] report ADDR [--kind KIND] [--count N] [--evidence ID]\n"
       "       sluicectl [--daemon PATH] report --arf FILE|-",
       "Reports an observation about ADDR (an address or prefix). With a [feed] section, sluiced\n"
       "signs it and publishes it to the collaboration feed as this site's participant; the\n"
       "other participants weigh it by their trust in this site. A report about one address of\n"
       "kind complaint, trap_hit, conn_rate or pregreet also counts in this site's local score\n"
       "model (docs/learning.md), with or without the feed. Exit 1 when sluiced refuses a value.\n"
       "\n"
       "With --arf, sluicectl reads one mail holding an ARF feedback report (RFC 5965) from FILE\n"
       "or standard input (at most 1.5 MiB) and sends its bytes to sluiced, which takes the\n"
       "Source-IP of its feedback part as a complaint, once per report (docs/complaints.md).\n"
       "Prints accepted or duplicate (exit 0), or refused with the reason (exit 1)."});
  if (!found) return kExitOk;
  if (found->count("arf")) return report_arf(ctx, *found);
  if (!found->count("addr")) throw UsageError("ADDR is required");
  json req = {{"cmd", "report"},
              {"addr", (*found)["addr"].as<std::vector<std::string>>().front()},
              {"kind", (*found)["kind"].as<std::string>()},
              {"count", (*found)["count"].as<int64_t>()},
              {"window", (*found)["window"].as<int64_t>()},
              {"ttl", (*found)["ttl"].as<int64_t>()}};
  if (found->count("evidence")) req["evidence"] = (*found)["evidence"].as<std::string>();
  const json r = daemon_call(ctx, req);
  ctx.out << fmt::format("reported {} ({}) as {}\n", r.value("subject", ""), r.value("kind", ""),
                         r.value("participant", ""));
  return kExitOk;
}

int status(Context &ctx) {
  CommandOptions opts;
  opts.json();
  const auto found = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] feed status [--json]",
       "The collaboration feed as sluiced sees it: connected or not, batches published and\n"
       "accepted, batches refused per reason (oversize, malformed, wrong_version,\n"
       "unknown_participant, subject_mismatch, bad_signature, replay, stale, future),\n"
       "observations skipped per reason, this site's own observations shared per kind\n"
       "(published of offered), and per participant its trust, entries and liveness (last\n"
       "batch, its lag, observations of the last minute, SILENT past its max_silence)."});
  if (!found) return kExitOk;
  json r = daemon_call(ctx, {{"cmd", "feed status"}});
  r.erase("ok");
  if (found->count("json")) {
    ctx.out << r.dump(2) << "\n";
    return kExitOk;
  }
  ctx.out << fmt::format("participant {}: {}\n", r.value("participant", "-"),
                         r.value("connected", false) ? "connected" : "NOT connected");
  ctx.out << fmt::format("published: {} batches, {} observations, {} failures, {} queued\n",
                         r.value("published_batches", 0), r.value("published_observations", 0),
                         r.value("publish_failures", 0), r.value("queued_reports", 0));
  ctx.out << fmt::format("accepted: {} batches, {} observations; {} entries\n",
                         r.value("accepted_batches", 0), r.value("accepted_observations", 0),
                         r.value("entries", 0));
  std::string refused;
  // A named object: items() refers to it, and a temporary would be gone before the loop runs.
  const json refused_counts = r.value("refused", json::object());
  for (const auto &[k, v] : refused_counts.items())
    if (v.get<uint64_t>() > 0) refused += fmt::format(" {}={}", k, v.get<uint64_t>());
  ctx.out << "refused:" << (refused.empty() ? " none" : refused) << "\n";
  // This site's own observations on the feed: published of offered, per kind shared.
  const json share = r.value("share", json::object());
  std::string kinds;
  const json share_kinds = share.value("kinds", json::object());  // named: items() refers to it
  for (const auto &[k, v] : share_kinds.items())
    kinds += fmt::format(" {} {}/{}", k, v.value("published", json(0)).dump(),
                         v.value("offered", json(0)).dump());
  const uint64_t dropped = share.value("dropped_full", uint64_t{0}) +
                           share.value("dropped_old", uint64_t{0}) +
                           share.value("dropped_queue_full", uint64_t{0});
  ctx.out << "shared (published/offered):" << (kinds.empty() ? " nothing (share = none)" : kinds)
          << fmt::format("; {} merged, {} dropped\n\n", share.value("merged", json(0)).dump(),
                         dropped);
  // Liveness: how long since its last batch, that batch's lag, observations of the last
  // minute, and SILENT past its max_silence.
  TextTable t({"participant", "weight", "cap", "half-life", "entries", "last batch", "lag",
               "obs/min", "state"});
  for (const auto &p : r.value("participants", json::array())) {
    const json lag = p.value("lag_ms", json());
    const bool heard = p.value("last_batch_unix_ms", json()).is_number();
    t.row({p.value("name", "-"), fmt::format("{}", p.value("weight", 0.0)),
           p.value("cap", json(0)).dump(), format_age(p.value("half_life_s", json())),
           p.value("entries", json(0)).dump(),
           heard ? format_age(p.value("silent_for_s", json())) + " ago" : "none yet",
           lag.is_number() ? fmt::format("{} ms", lag.get<int64_t>()) : "-",
           p.value("observations_last_minute", json(0)).dump(),
           p.value("silent", false) ? "SILENT" : "ok"});
  }
  t.print(ctx.out);
  return kExitOk;
}

int explain(Context &ctx) {
  CommandOptions opts;
  opts.words("addr", 1, "the address");
  opts.json();
  const auto found = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] feed explain ADDR [--json]",
       "Each participant's contribution to ADDR's score from the feed: the subject it reported\n"
       "(ADDR or a prefix containing it), the weight it adds now (after its trust weight, cap,\n"
       "decay, the quorum and local decisions), when it expires, how many reports it folds in\n"
       "and the last kind and evidence id."});
  if (!found) return kExitOk;
  if (!found->count("addr")) throw UsageError("ADDR is required");
  const std::string addr = (*found)["addr"].as<std::vector<std::string>>().front();
  json r = daemon_call(ctx, {{"cmd", "feed explain"}, {"addr", addr}});
  r.erase("ok");
  if (found->count("json")) {
    ctx.out << r.dump(2) << "\n";
    return kExitOk;
  }
  TextTable t(
      {"participant", "subject", "weight", "expires in", "reports", "last", "evidence", "note"});
  const auto now = static_cast<int64_t>(std::time(nullptr));
  for (const auto &c : r.value("contributions", json::array())) {
    std::string note = c.value("held_by_quorum", false)    ? "held: below quorum"
                       : c.value("decided_locally", false) ? "local decision wins"
                                                           : "";
    t.row({c.value("participant", "-"), c.value("subject", "-"), c.value("weight", json(0)).dump(),
           format_age(json(c.value("expires_unix", now) - now)), c.value("reports", json(0)).dump(),
           c.value("last_kind", "-"),
           c.value("last_evidence", "").empty() ? "-" : c.value("last_evidence", ""),
           note.empty() ? "-" : note});
  }
  if (t.empty())
    ctx.out << addr << ": no contribution from the feed\n";
  else {
    t.print(ctx.out);
    ctx.out << fmt::format("feed total: {}\n", r.value("total", 0));
  }
  return kExitOk;
}

const CommandRegistrar kReport("report", "publish an observation about ADDR to the feed", report);
const GroupRegistrar kGroup("feed", "the collaboration feed: status, explain");
const CommandRegistrar kStatus("feed status", "connection, counters, refusals, participants",
                               status);
const CommandRegistrar kExplain("feed explain", "each participant's contribution to ADDR", explain);

}  // namespace
}  // namespace sluicectl
