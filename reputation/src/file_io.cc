#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fmt/format.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/source.h"

namespace sluice::reputation::detail {
namespace {

using Kind = SourceError::Kind;

std::string bytes_text(uint64_t n) {
  if (n >= (1u << 30) && n % (1u << 30) == 0) return fmt::format("{} GiB", n >> 30);
  if (n >= (1u << 20) && n % (1u << 20) == 0) return fmt::format("{} MiB", n >> 20);
  if (n >= (1u << 10) && n % (1u << 10) == 0) return fmt::format("{} KiB", n >> 10);
  return fmt::format("{} bytes", n);
}

[[noreturn]] void too_large(const std::string &path, const char *what, uint64_t max_size,
                            const std::string &owner) {
  throw SourceError(Kind::kTooLarge, fmt::format("{}: more than {} {} (the max_size limit of {})",
                                                 path, bytes_text(max_size), what, owner));
}

}  // namespace

bool is_gzip(std::string_view b) {
  return b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0x1f &&
         static_cast<unsigned char>(b[1]) == 0x8b;
}

std::string decode_list(std::string bytes, const std::string &path, uint64_t max_size,
                        const std::string &owner) {
  if (bytes.size() > max_size) too_large(path, "as stored", max_size, owner);
  if (!is_gzip(bytes)) return bytes;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)  // gzip wrapper only
    throw SourceError(Kind::kUnreadable, path + ": cannot start gzip decompression");
  struct End {
    z_stream &zs;
    ~End() { inflateEnd(&zs); }
  } end{zs};
  std::string out;
  out.resize(std::min<uint64_t>(max_size, std::max<size_t>(bytes.size() * 4, 1 << 16)));
  size_t in_off = 0, out_off = 0;
  for (;;) {
    // Room for one byte past the limit, so that going over it is seen; at most 1 GiB per call
    // (avail_in and avail_out are 32 bits).
    if (out_off == out.size()) {
      if (out.size() > max_size) too_large(path, "after decompression", max_size, owner);
      out.resize(std::min<uint64_t>(max_size + 1, std::max<uint64_t>(out.size() * 2, 1 << 16)));
    }
    const size_t in_chunk = std::min<size_t>(bytes.size() - in_off, 1u << 30);
    const size_t out_chunk = std::min<size_t>(out.size() - out_off, 1u << 30);
    zs.next_in = reinterpret_cast<Bytef *>(bytes.data() + in_off);
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = reinterpret_cast<Bytef *>(out.data() + out_off);
    zs.avail_out = static_cast<uInt>(out_chunk);
    int rc = inflate(&zs, Z_NO_FLUSH);
    in_off += in_chunk - zs.avail_in;
    out_off += out_chunk - zs.avail_out;
    if (out_off > max_size) too_large(path, "after decompression", max_size, owner);
    if (rc == Z_STREAM_END) {
      if (in_off == bytes.size()) break;
      // Another member follows (cat a.gz b.gz), as gzip -d reads it; anything else is garbage.
      if (!is_gzip(std::string_view(bytes).substr(in_off)))
        throw SourceError(Kind::kCorrupt,
                          fmt::format("{}: {} bytes of trailing garbage after the gzip stream",
                                      path, bytes.size() - in_off));
      if (inflateReset(&zs) != Z_OK)
        throw SourceError(Kind::kCorrupt, path + ": cannot restart gzip decompression");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // needs more room: grown above
    if (rc == Z_BUF_ERROR && in_off == bytes.size())
      throw SourceError(Kind::kTruncated, path + ": truncated gzip stream");
    if (rc == Z_MEM_ERROR) throw SourceError(Kind::kUnreadable, path + ": out of memory");
    throw SourceError(Kind::kCorrupt, fmt::format("{}: corrupt gzip stream ({})", path,
                                                  zs.msg ? zs.msg : "bad data"));
  }
  out.resize(out_off);
  return out;
}

std::string read_list(const std::string &path, uint64_t max_size, const std::string &owner) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw SourceError(Kind::kUnreadable, path + ": cannot read: " + std::strerror(errno));
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  struct stat before {};
  if (::fstat(fd, &before) != 0)
    throw SourceError(Kind::kUnreadable, path + ": cannot read: " + std::strerror(errno));
  if (!S_ISREG(before.st_mode))
    throw SourceError(Kind::kUnreadable, path + ": cannot read: not a regular file");
  if (static_cast<uint64_t>(before.st_size) > max_size)
    too_large(path, "as stored", max_size, owner);
  std::string bytes;
  bytes.reserve(static_cast<size_t>(before.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw SourceError(Kind::kUnreadable, path + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
    if (bytes.size() > max_size) too_large(path, "as stored", max_size, owner);
  }
  struct stat after {};
  if (::fstat(fd, &after) != 0 || after.st_size != before.st_size ||
      after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
      bytes.size() != static_cast<uint64_t>(after.st_size))
    throw SourceError(Kind::kUnreadable,
                      path +
                          ": changed while it was read (write lists to a temporary file and "
                          "rename it into place)");
  return bytes;
}

std::string read_file(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot read: " + std::strerror(errno));
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": cannot read: is a directory");
  }
  if (st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw Error(path + ": cannot read: " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_file_atomic(const std::string &path, std::span<const uint8_t> bytes,
                       Durability durability) {
  const std::span<const uint8_t> one[] = {bytes};
  write_file_atomic(path, one, durability);
}

void write_file_atomic(const std::string &path, std::span<const std::span<const uint8_t>> pieces,
                       Durability durability) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) throw Error(path + ": cannot create a temporary file: " + std::strerror(errno));
  auto fail = [&](const char *what) {
    int e = errno;
    ::close(fd);
    ::unlink(name.data());
    throw Error(path + ": " + what + ": " + std::strerror(e));
  };
  for (const std::span<const uint8_t> bytes : pieces) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("cannot write");
      off += static_cast<size_t>(n);
    }
  }
  if (::fchmod(fd, 0644) != 0) fail("cannot chmod");
  if (durability == Durability::kDurable && ::fsync(fd) != 0) fail("cannot fsync");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(name.data());
    throw Error(path + ": cannot close: " + std::strerror(e));
  }
  if (::rename(name.data(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(name.data());
    throw Error(path + ": cannot rename the temporary file into place: " + std::strerror(e));
  }
}

}  // namespace sluice::reputation::detail
