// Where decision log lines go. The [decision_log] sink setting picks one:
//   auto       the journal when its socket (/run/systemd/journal/socket) exists, else syslog
//   journal    sd_journal_send: MESSAGE, PRIORITY=6 (info), SYSLOG_FACILITY=2 (mail),
//              SYSLOG_IDENTIFIER=sluiced, and the line's SLUICE_* fields
//   syslog     syslog(3) with facility LOG_MAIL, priority LOG_INFO, ident "sluiced"
//   file:PATH  appended to PATH, one "TIMESTAMP sluiced: MESSAGE" line each (tests, or a box
//              without a log daemon); opened once, O_APPEND
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "decision_log.h"
#include "sluice_error.h"

namespace sluice::sluiced::decision_log {

class SinkError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void write(const LogLine &line) = 0;  // never throws: a lost log line is not fatal
  virtual std::string describe() const = 0;     // "journal", "syslog", "file:PATH"
};

inline constexpr std::string_view kJournalSocket = "/run/systemd/journal/socket";

// Throws SinkError for an unknown spec or a file that cannot be opened.
std::unique_ptr<LogSink> make_sink(const std::string &spec);

}  // namespace sluice::sluiced::decision_log
