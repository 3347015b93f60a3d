// sluiced's log lines: one line each on stderr, which systemd hands to the journal. Under
// systemd (JOURNAL_STREAM set) each line starts with its syslog priority ("<4>"), so the journal
// files it at that level; on a terminal the level is written as a word.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace sluice::sluiced {

enum class LogLevel { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

void log_line(LogLevel level, std::string_view message);
inline void log_error(std::string_view m) {
  log_line(LogLevel::kError, m);
}
inline void log_warning(std::string_view m) {
  log_line(LogLevel::kWarning, m);
}
inline void log_notice(std::string_view m) {
  log_line(LogLevel::kNotice, m);
}
inline void log_info(std::string_view m) {
  log_line(LogLevel::kInfo, m);
}

// Tests (and a concern that wants the lines elsewhere) replace the sink; nullptr restores
// stderr. Not thread-safe against concurrent logging: set it before the loop starts.
void set_log_sink(std::function<void(LogLevel, std::string_view)> sink);

}  // namespace sluice::sluiced
