#include "daemon/log.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace sluice::sluiced {
namespace {

std::mutex g_mu;
std::function<void(LogLevel, std::string_view)> g_sink;

const char *word(LogLevel l) {
  switch (l) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

}  // namespace

void set_log_sink(std::function<void(LogLevel, std::string_view)> sink) {
  std::lock_guard lock(g_mu);
  g_sink = std::move(sink);
}

void log_line(LogLevel level, std::string_view message) {
  std::lock_guard lock(g_mu);
  if (g_sink) {
    g_sink(level, message);
    return;
  }
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string line;
  // Appended piece by piece: GCC 12 at -O3 misreads `"x" + std::string` (-Werror=restrict).
  if (journal) {
    line += '<';
    line += std::to_string(static_cast<int>(level));
    line += '>';
  } else {
    line += "sluiced: ";
    line += word(level);
    line += ": ";
  }
  for (const char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace sluice::sluiced
