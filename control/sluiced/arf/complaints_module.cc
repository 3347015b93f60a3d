// Complaints as a sluiced module (docs/complaints.md): the [complaints] section, the `report arf`
// verb (sluicectl reads the mail and sends its bytes: the daemon never opens a path a client
// names), the configured maildir (inotify on new/ and a periodic scan, bounded turns), the
// de-duplication memory kept in STATE_DIR/arf_seen across restarts, status counters and the
// sluiced_complaints_* metrics (docs/metrics.md).
#include <poll.h>
#include <sodium.h>

#include <chrono>
#include <memory>

#include "complaints_config.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/module.h"
#include "input_text.h"
#include "intake.h"
#include "maildir.h"
#include "obs/obs_explain.h"

namespace sluice::sluiced::arf {
namespace {

using nlohmann::json;
namespace rep = sluice::reputation;
using namespace std::chrono_literals;

constexpr auto kScanInterval = 30s;   // new/ is read this often even without an inotify event
constexpr size_t kMailsPerTurn = 64;  // files of new/ handled per turn of the loop
constexpr int kRefusalLogsPerWindow = 20;
constexpr auto kRefusalLogWindow = 60s;
// Refusal reasons besides the parser's (ArfRefusal): the maildir's, and a parser that threw.
constexpr const char *kMaildirRefusals[] = {"not_regular", "unreadable", "internal_error"};

class ComplaintsModule : public Module {
 public:
  std::string module_name() const override { return "complaints"; }
  void describe_config(ConfigSchema &schema) override { describe_complaints_config(schema); }
  void configure(const po::variables_map &vm) override { cfg_ = read_complaints_config(vm); }

  void start(Daemon &d) override {
    daemon_ = &d;
    d.commands().add("report arf",
                     "an ARF feedback report (RFC 5965), the mail's bytes in base64 as "
                     "\"mail_base64\": accepted (a complaint about its Source-IP), duplicate or "
                     "refused with the reason",
                     [this](const json &r) { return report_arf(r); });
    if (!cfg_.enabled) return;
    if (sodium_init() < 0) throw sluice::Error("complaints: libsodium does not initialise");
    ArfLimits limits;
    limits.max_bytes = cfg_.max_report_bytes;
    intake_ = std::make_unique<Intake>(
        limits, cfg_.dedup_memory,
        [this](const LocalObservation &o) { daemon_->observations().publish(o); });
    seen_path_ = d.config().state_dir + "/arf_seen";
    if (cfg_.dedup_memory > 0 && intake_->seen().load(seen_path_))
      log_info("complaints: " + std::to_string(intake_->seen().size()) +
               " report keys remembered from " + seen_path_);
    if (!cfg_.maildir.empty()) {
      maildir_ = std::make_unique<Maildir>(cfg_.maildir);
      d.loop().add_fd(maildir_->inotify_fd(), POLLIN, [this](short) {
        maildir_->drain_events();
        scan_turn();
      });
      d.loop().add_periodic(kScanInterval, [this] { scan_turn(); });
      d.loop().add_timer(0ms, [this] { scan_turn(); });
      log_info("complaints: reading ARF reports from the maildir " + cfg_.maildir);
    }
    live_ = this;
    static const bool registered = [] {
      // One collector per process (the hook is global): it reports the module running now.
      obs::add_metrics_collector("complaints", [](metrics::Exposition &e) {
        if (live_ != nullptr) live_->collect(e);
      });
      return true;
    }();
    (void)registered;
  }

  ~ComplaintsModule() override {
    if (live_ == this) live_ = nullptr;
  }

  void stop() override {
    if (live_ == this) live_ = nullptr;
    if (maildir_ && daemon_ != nullptr) daemon_->loop().remove_fd(maildir_->inotify_fd());
    maildir_.reset();
    if (intake_ && cfg_.dedup_memory > 0 && !intake_->seen().save(seen_path_))
      log_error("complaints: cannot save the report keys to " + seen_path_ +
                " (a report delivered again after the restart counts again)");
  }

  json status() override {
    json out = {{"enabled", cfg_.enabled}};
    if (!intake_) return out;
    const auto &c = intake_->counters();
    json refused = json::object();
    for (const auto &[reason, n] : c.refused) refused[reason] = n;
    out["maildir"] = cfg_.maildir.empty() ? json(nullptr) : json(cfg_.maildir);
    out["accepted"] = c.accepted;
    out["duplicates"] = c.duplicates;
    out["refused"] = refused;
    out["remembered"] = intake_->seen().size();
    if (maildir_) out["maildir_move_errors"] = move_errors_;
    return out;
  }

 private:
  json report_arf(const json &req) {
    if (!intake_)
      throw CommandError(
          "sluiced takes no ARF reports: [complaints] enabled = false in its configuration");
    const std::string b64 = arg_string(req, "mail_base64");
    // The mail's size, known before decoding: a mail over the limit is refused undecoded.
    const size_t at_most = b64.size() / 4 * 3;
    Outcome o;
    if (at_most > cfg_.max_report_bytes + 3) {
      o = intake_->take(MailFile{"", false, "", "too_large",
                                 "about " + std::to_string(at_most) + " bytes, over the " +
                                     std::to_string(cfg_.max_report_bytes) + "-byte limit"});
    } else {
      std::string mail(at_most + 3, '\0');
      size_t n = 0;
      const char *end = nullptr;
      if (sodium_base642bin(reinterpret_cast<unsigned char *>(mail.data()), mail.size(), b64.data(),
                            b64.size(), nullptr, &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
          end != b64.data() + b64.size())
        throw CommandError("mail_base64: not base64 (RFC 4648, with padding)");
      mail.resize(n);
      o = intake_->take(mail);
    }
    log_outcome(o, "sluicectl");
    json out;
    switch (o.fate) {
      case MailFate::kAccepted:
      case MailFate::kDuplicate:
        out["result"] = o.fate == MailFate::kAccepted ? "accepted" : "duplicate";
        out["subject"] = rep::format_ip(o.report.source);
        out["reserved"] = o.report.source_reserved;
        out["feedback_type"] = o.report.feedback_type;
        out["key"] = o.report.key_text;
        break;
      case MailFate::kRefused:
        out["result"] = "refused";
        out["reason"] = o.reason;
        out["detail"] = o.detail;
        break;
    }
    return out;
  }

  void scan_turn() {
    if (!maildir_ || turn_scheduled_) return;
    const auto t = maildir_->scan(kMailsPerTurn, cfg_.max_report_bytes, [this](const MailFile &m) {
      const Outcome o = intake_->take(m);
      log_outcome(o, "maildir " + shown(m.name, false));
      return o.fate;
    });
    if (t.move_errors > 0) {
      move_errors_ += t.move_errors;
      log_error("complaints: " + std::to_string(t.move_errors) + " mails could not be moved from " +
                cfg_.maildir + "/new to cur/ (left where they are and not read again)");
    }
    if (t.more) {
      turn_scheduled_ = true;
      daemon_->loop().add_timer(0ms, [this] {
        turn_scheduled_ = false;
        scan_turn();
      });
    }
  }

  void collect(metrics::Exposition &e) {
    if (!intake_) return;
    using metrics::MetricType;
    const auto &c = intake_->counters();
    e.declare("sluiced_complaints_reports_total", MetricType::counter,
              "ARF reports taken: accepted (a complaint published) or duplicate (taken before)");
    e.add("sluiced_complaints_reports_total", {{"result", "accepted"}}, c.accepted);
    e.add("sluiced_complaints_reports_total", {{"result", "duplicate"}}, c.duplicates);
    e.declare("sluiced_complaints_refusals_total", MetricType::counter,
              "Mails refused as ARF reports, by reason");
    auto refused = [&](const std::string &reason) {
      const auto it = c.refused.find(reason);
      e.add("sluiced_complaints_refusals_total", {{"reason", reason}},
            it == c.refused.end() ? uint64_t{0} : it->second);
    };
    for (size_t k = 1; k < kArfRefusalCount; ++k)
      refused(std::string(to_string(static_cast<ArfRefusal>(k))));
    for (const char *r : kMaildirRefusals) refused(r);
    e.declare("sluiced_complaints_remembered", MetricType::gauge,
              "Report keys in the de-duplication memory");
    e.add("sluiced_complaints_remembered", {}, static_cast<uint64_t>(intake_->seen().size()));
    e.declare("sluiced_complaints_maildir_move_errors_total", MetricType::counter,
              "Maildir mails that could not be moved from new/ to cur/");
    e.add("sluiced_complaints_maildir_move_errors_total", {}, move_errors_);
  }

  void log_outcome(const Outcome &o, const std::string &from) {
    if (o.fate == MailFate::kAccepted) {
      const std::string addr = rep::format_ip(o.report.source);
      log_info("complaints: ARF report " + o.report.key_text + " from " + from + ": " +
               o.report.feedback_type + " complaint about " + addr + " (User-Agent " +
               shown(o.report.user_agent) + ")");
      if (o.report.source_reserved)
        log_notice("complaints: the Source-IP " + addr + " of ARF report " + o.report.key_text +
                   " is a private or reserved address (counted all the same)");
      return;
    }
    if (o.fate == MailFate::kDuplicate) {
      log_info("complaints: ARF report " + o.report.key_text + " from " + from +
               " was taken before: not counted again");
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - log_window_start_ >= kRefusalLogWindow) {
      if (logs_suppressed_ > 0)
        log_warning("complaints: " + std::to_string(logs_suppressed_) +
                    " more refused reports not logged in the last minute");
      log_window_start_ = now;
      logs_in_window_ = 0;
      logs_suppressed_ = 0;
    }
    if (logs_in_window_++ < kRefusalLogsPerWindow)
      log_warning("complaints: mail from " + from + " refused (" + o.reason + "): " + o.detail);
    else
      ++logs_suppressed_;
  }

  static inline ComplaintsModule *live_ = nullptr;  // the module whose metrics a scrape reports
  ComplaintsConfig cfg_;
  Daemon *daemon_ = nullptr;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Maildir> maildir_;
  std::string seen_path_;
  bool turn_scheduled_ = false;
  uint64_t move_errors_ = 0;
  std::chrono::steady_clock::time_point log_window_start_{};
  int logs_in_window_ = 0;
  uint64_t logs_suppressed_ = 0;
};

const ModuleRegistrar kComplaints([] { return std::make_unique<ComplaintsModule>(); });

}  // namespace
}  // namespace sluice::sluiced::arf
