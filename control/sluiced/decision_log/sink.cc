#include "sink.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <vector>

namespace sluice::sluiced::decision_log {
namespace {

constexpr const char *kIdent = "sluiced";

class JournalSink : public LogSink {
 public:
  void write(const LogLine &line) override {
    std::vector<std::string> parts = {"MESSAGE=" + line.message, "PRIORITY=6", "SYSLOG_FACILITY=2",
                                      std::string("SYSLOG_IDENTIFIER=") + kIdent};
    for (const auto &[k, v] : line.fields) parts.push_back(k + "=" + v);
    std::vector<iovec> iov;
    iov.reserve(parts.size());
    for (auto &p : parts) iov.push_back({p.data(), p.size()});
    sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
  }
  std::string describe() const override { return "journal"; }
};

class SyslogSink : public LogSink {
 public:
  SyslogSink() { openlog(kIdent, LOG_PID | LOG_NDELAY, LOG_MAIL); }
  void write(const LogLine &line) override {
    syslog(LOG_MAIL | LOG_INFO, "%s", line.message.c_str());
  }
  std::string describe() const override { return "syslog"; }
};

class FileSink : public LogSink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)) {
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd_ < 0)
      throw SinkError("decision log: cannot open '" + path_ + "': " + std::strerror(errno));
  }
  ~FileSink() override { close(fd_); }
  void write(const LogLine &line) override {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const std::string text = std::string(stamp) + " " + kIdent + ": " + line.message + "\n";
    // One write per line: O_APPEND keeps lines whole between writers.
    const ssize_t n = ::write(fd_, text.data(), text.size());
    (void)n;
  }
  std::string describe() const override { return "file:" + path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<LogSink> make_sink(const std::string &spec) {
  if (spec == "journal") return std::make_unique<JournalSink>();
  if (spec == "syslog") return std::make_unique<SyslogSink>();
  if (spec == "auto") {
    if (access(std::string(kJournalSocket).c_str(), W_OK) == 0)
      return std::make_unique<JournalSink>();
    return std::make_unique<SyslogSink>();
  }
  if (spec.rfind("file:", 0) == 0 && spec.size() > 5)
    return std::make_unique<FileSink>(spec.substr(5));
  throw SinkError("decision log: sink '" + spec + "' is not auto, journal, syslog or file:PATH");
}

}  // namespace sluice::sluiced::decision_log
