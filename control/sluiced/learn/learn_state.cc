#include "learn_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

#include "bounded_file.h"
#include "fmt/format.h"

namespace sluice::sluiced::learn {
namespace rep = sluice::reputation;

namespace {

constexpr uint64_t kMaxStateFileBytes = uint64_t{64} << 20;
constexpr int64_t kMaxMs = int64_t{1} << 53;

std::string encode(std::string_view s) {
  if (s.empty()) return "-";
  std::string out;
  for (unsigned char c : s) {
    if (c > 0x20 && c < 0x7f && c != '%' && !(s.size() == 1 && c == '-'))
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> decode(std::string_view s, size_t max) {
  if (s == "-") return std::string();
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int a = hex(s[i + 1]), b = hex(s[i + 2]);
      if (a < 0 || b < 0) return std::nullopt;
      const char d = static_cast<char>(a * 16 + b);
      if (d < 0x20 || d > 0x7e) return std::nullopt;  // the model keeps printable ASCII only
      out += d;
      i += 2;
    } else if (c > 0x20 && c < 0x7f) {
      out += c;
    } else {
      return std::nullopt;
    }
    if (out.size() > max) return std::nullopt;
  }
  if (out.empty()) return std::nullopt;  // empty is written "-"
  return out;
}

template <class T>
bool parse_number(std::string_view s, T &out) {
  if (s.empty() || s.front() == '+' || s.front() == '-') return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string format_state(const std::vector<SavedRecord> &records) {
  std::string out(kStateHeader);
  out += "\n# address kind count updated_ms last_seen_ms observations origin evidence\n";
  for (const SavedRecord &r : records)
    out += fmt::format("{} {} {} {} {} {} {} {}\n", rep::format_ip(r.address), to_string(r.kind),
                       r.record.count, r.record.updated_ms, r.record.last_seen_ms,
                       r.record.observations, encode(r.record.origin), encode(r.record.evidence));
  return out;
}

std::vector<SavedRecord> parse_state(std::string_view text, const std::string &name) {
  size_t line_no = 0;
  auto bad = [&](std::string_view why) {
    return StateError(fmt::format("{}:{}: {}", name, line_no, why));
  };
  std::vector<SavedRecord> out;
  std::set<std::pair<std::string, int>> seen;
  bool header = false;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) throw bad("the last line has no line feed (cut short?)");
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.size() > kMaxStateLine) throw bad("line longer than 1024 bytes");
    if (!header) {
      if (line != kStateHeader) throw bad("not a learning state file (no 'sluice-learning 1')");
      header = true;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> f;
    size_t b = 0;
    while (true) {
      const size_t sp = line.find(' ', b);
      f.push_back(line.substr(b, sp == std::string_view::npos ? sp : sp - b));
      if (sp == std::string_view::npos) break;
      b = sp + 1;
    }
    if (f.size() != 8) throw bad(fmt::format("{} fields, expected 8", f.size()));
    SavedRecord r;
    auto addr = rep::parse_ip(f[0]);
    if (!addr) throw bad("not an IPv4 or IPv6 address");
    r.address = *addr;
    auto kind = local_kind_from_string(f[1]);
    if (!kind) throw bad("unknown kind");
    r.kind = *kind;
    if (!parse_number(f[2], r.record.count) || !std::isfinite(r.record.count) ||
        r.record.count < 0 || r.record.count > kMaxCount)
      throw bad("count: not a number 0 .. 1e15");
    if (!parse_number(f[3], r.record.updated_ms) || r.record.updated_ms > kMaxMs)
      throw bad("updated_ms: not a unix time in milliseconds");
    if (!parse_number(f[4], r.record.last_seen_ms) || r.record.last_seen_ms > kMaxMs)
      throw bad("last_seen_ms: not a unix time in milliseconds");
    if (!parse_number(f[5], r.record.observations)) throw bad("observations: not a whole number");
    auto origin = decode(f[6], kMaxOrigin);
    if (!origin) throw bad("origin: not printable, or longer than 32 bytes");
    auto evidence = decode(f[7], kMaxEvidence);
    if (!evidence) throw bad("evidence: not printable, or longer than 128 bytes");
    r.record.origin = std::move(*origin);
    r.record.evidence = std::move(*evidence);
    if (!seen.emplace(rep::format_ip(r.address), static_cast<int>(r.kind)).second)
      throw bad("this address and kind appear twice");
    if (out.size() >= kMaxStateRecords) throw bad("more records than any max_addresses allows");
    out.push_back(std::move(r));
  }
  if (!header) {
    line_no = 1;
    throw bad("empty (no 'sluice-learning 1')");
  }
  return out;
}

void write_state_file(const std::string &path, const std::vector<SavedRecord> &records) {
  const std::string text = format_state(records);
  const std::string tmp = path + ".tmp";
  auto fail = [&](const char *what) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return StateError(fmt::format("{}: {}: {}", path, what, std::strerror(e)));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw fail("cannot create its temporary");
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw fail("cannot fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("cannot rename its temporary");
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::vector<SavedRecord> read_state_file(const std::string &path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return {};
  std::string text;
  try {
    dataplane::UniqueFd fd = dataplane::open_for_reading(path);
    text = dataplane::read_bounded(fd.get(), path, kMaxStateFileBytes);
  } catch (const dataplane::FileError &e) {
    throw StateError(e.what());
  }
  return parse_state(text, path);
}

}  // namespace sluice::sluiced::learn
