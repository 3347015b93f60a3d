// Snapshot: storage (owned vectors or a read-only mapping), validation, lookups, file image.
#include "sluice/reputation/snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "fmt/format.h"
#include "file_io.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/error.h"
#include "table_memory.h"

namespace sluice::reputation {
namespace {

constexpr uint32_t kNoParent = UINT32_MAX;

constexpr size_t align8(size_t n) {
  return (n + 7) & ~size_t{7};
}

// Byte offsets of the four arrays in the file image, and the image size.
struct Layout {
  size_t off[4];
  size_t size;
};

Layout layout_for(const uint64_t counts[4]) {
  static constexpr size_t kEntrySize[4] = {sizeof(HostV4), sizeof(PrefixV4), sizeof(HostV6),
                                           sizeof(PrefixV6)};
  Layout l{};
  size_t pos = sizeof(SnapshotHeader);
  for (int i = 0; i < 4; ++i) {
    l.off[i] = pos;
    pos = align8(pos + static_cast<size_t>(counts[i]) * kEntrySize[i]);
  }
  l.size = pos;
  return l;
}

inline uint32_t key4(uint32_t addr_be) {
  return sl_ntohl(addr_be);
}
inline U128 key6(const uint8_t a[16]) {
  return v6_from_bytes(a);
}
// The sort key (host-order address) of each entry kind.
inline uint32_t key(const HostV4 &e) {
  return key4(e.addr_be);
}
inline uint32_t key(const PrefixV4 &e) {
  return key4(e.addr_be);
}
inline U128 key(const HostV6 &e) {
  return key6(e.addr);
}
inline U128 key(const PrefixV6 &e) {
  return key6(e.addr);
}

// Checks order and form of the four arrays; returns an empty string or what is wrong.
template <class Host, class Prefix>
std::string check_arrays(std::span<const Host> hosts, std::span<const Prefix> prefixes, int bits,
                         const char *name) {
  for (size_t i = 1; i < hosts.size(); ++i)
    if (!(key(hosts[i - 1]) < key(hosts[i])))
      return fmt::format("hosts_{} not sorted and unique at entry {}", name, i);
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const auto &p = prefixes[i];
    if (p.len > bits) return fmt::format("prefixes_{} entry {} has length {}", name, i, p.len);
    auto k = key(p);
    using A = decltype(k);
    if ((k & ~prefix_mask<A>(p.len)) != 0)
      return fmt::format("prefixes_{} entry {} has host bits set", name, i);
    if (i > 0) {
      const auto &q = prefixes[i - 1];
      auto kq = key(q);
      if (!(kq < k || (kq == k && q.len < p.len)))
        return fmt::format("prefixes_{} not sorted and unique at entry {}", name, i);
    }
  }
  return {};
}

// parent[i] = index of the longest prefix that strictly contains prefix i, or kNoParent.
// Prefixes sorted by (address, len) are a pre-order walk of their nesting tree.
template <class Prefix>
std::vector<uint32_t> parents(std::span<const Prefix> prefixes) {
  std::vector<uint32_t> parent(prefixes.size(), kNoParent);
  std::vector<uint32_t> stack;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    auto k = key(prefixes[i]);
    using A = decltype(k);
    while (!stack.empty()) {
      const auto &top = prefixes[stack.back()];
      if (prefix_contains<A>(key(top), top.len, k)) break;
      stack.pop_back();
    }
    parent[i] = stack.empty() ? kNoParent : stack.back();
    stack.push_back(static_cast<uint32_t>(i));
  }
  return parent;
}

// Longest prefix containing k: the last prefix starting at or before k, then up its parents.
template <class Prefix, class A>
Match longest_prefix(std::span<const Prefix> prefixes, const std::vector<uint32_t> &parent, A k) {
  Match m;
  auto it = std::upper_bound(prefixes.begin(), prefixes.end(), k,
                             [](A v, const Prefix &p) { return v < key(p); });
  if (it == prefixes.begin()) return m;
  uint32_t i = static_cast<uint32_t>(it - prefixes.begin() - 1);
  while (i != kNoParent) {
    const auto &p = prefixes[i];
    if (prefix_contains<A>(key(p), p.len, k)) {
      m.kind = Match::Kind::kPrefix;
      m.len = p.len;
      m.index = i;
      m.value = p.value;
      return m;
    }
    i = parent[i];
  }
  return m;
}

// The size the counts imply, on top of check_snapshot_header; throws FormatError naming the file.
void check_header(const std::string &path, const SnapshotHeader &h, size_t size) {
  check_snapshot_header(path, h);
  const Layout l = layout_for(h.counts);
  if (l.size != size)
    throw FormatError(fmt::format(
        "{}: truncated or corrupt: {} bytes, but its counts need {} bytes", path, size, l.size));
}

}  // namespace

void check_snapshot_header(const std::string &path, const SnapshotHeader &h) {
  if (std::memcmp(h.magic, kSnapshotMagic, sizeof h.magic) != 0)
    throw FormatError(path + ": not a sluice reputation table (bad magic)");
  if (h.version != kSnapshotVersion)
    throw FormatError(
        fmt::format("{}: table format version {} is not supported (this build reads version {})",
                    path, h.version, kSnapshotVersion));
  if (h.header_size != sizeof(SnapshotHeader))
    throw FormatError(fmt::format("{}: bad header size {}", path, h.header_size));
  uint64_t total = 0;
  for (int i = 0; i < 4; ++i) {
    if (h.counts[i] > kMaxSnapshotEntries)
      throw FormatError(fmt::format("{}: {} entries of one kind, more than the limit of {}", path,
                                    h.counts[i], kMaxSnapshotEntries));
    total += h.counts[i];
  }
  if (total > kMaxSnapshotEntries)
    throw FormatError(
        fmt::format("{}: {} entries, more than the limit of {}", path, total, kMaxSnapshotEntries));
}

struct Snapshot::Storage {
  std::vector<HostV4> own_h4;
  std::vector<PrefixV4> own_p4;
  std::vector<HostV6> own_h6;
  std::vector<PrefixV6> own_p6;
  void *map = nullptr;
  size_t map_size = 0;

  std::span<const HostV4> h4;
  std::span<const PrefixV4> p4;
  std::span<const HostV6> h6;
  std::span<const PrefixV6> p6;
  std::vector<uint32_t> parent4, parent6;
  // The storage that holds an array this one shares instead of owning (replacing()): always the
  // owner itself, never a table that shares it in turn, so a chain of changes keeps no
  // intermediate table alive.
  std::shared_ptr<const Storage> owner_h4, owner_p4, owner_h6, owner_p6;
  uint64_t created = 0;
  std::optional<uint64_t> checksum;  // as loaded from a file
  // Otherwise computed on first use and kept: a table is immutable, and its version is asked
  // for often (sluiced: every push, status and log line). Atomic: a Snapshot may be read from
  // several threads; two that compute it at once store the same value.
  mutable std::atomic<uint64_t> computed{0};
  mutable std::atomic<bool> have_computed{false};
  // block_checksum() of each array this storage owns, computed on first use (or while a file is
  // checked) and kept: a table that shares the array asks its owner.
  mutable std::atomic<uint64_t> array_sum[4] = {};
  mutable std::atomic<bool> have_array_sum[4] = {};
  void keep_array_sum(size_t kind, uint64_t sum) const {
    array_sum[kind].store(sum, std::memory_order_relaxed);
    have_array_sum[kind].store(true, std::memory_order_release);
  }

  Storage() = default;
  Storage(const Storage &) = delete;
  Storage &operator=(const Storage &) = delete;
  ~Storage() {
    if (map) ::munmap(map, map_size);
    // The next table (a delta applied to a copy) takes these instead of faulting in new memory.
    detail::recycle_table_array(std::move(own_h4));
    detail::recycle_table_array(std::move(own_p4));
    detail::recycle_table_array(std::move(own_h6));
    detail::recycle_table_array(std::move(own_p6));
  }

  std::string check() const {
    auto e = check_arrays(h4, p4, 32, "v4");
    if (e.empty()) e = check_arrays(h6, p6, 128, "v6");
    return e;
  }
  void index() {
    parent4 = parents(p4);
    parent6 = parents(p6);
  }
};

Snapshot::Snapshot() : s_(std::make_shared<Storage>()) {}
Snapshot::Snapshot(std::shared_ptr<const Storage> s) : s_(std::move(s)) {}

Snapshot Snapshot::from_entries(std::vector<HostV4> hosts_v4, std::vector<PrefixV4> prefixes_v4,
                                std::vector<HostV6> hosts_v6, std::vector<PrefixV6> prefixes_v6,
                                uint64_t created_unix) {
  auto s = std::make_shared<Storage>();
  s->own_h4 = std::move(hosts_v4);
  s->own_p4 = std::move(prefixes_v4);
  s->own_h6 = std::move(hosts_v6);
  s->own_p6 = std::move(prefixes_v6);
  s->h4 = s->own_h4;
  s->p4 = s->own_p4;
  s->h6 = s->own_h6;
  s->p6 = s->own_p6;
  s->created = created_unix;
  if (auto e = s->check(); !e.empty()) throw Error("invalid table: " + e);
  s->index();
  return Snapshot(std::move(s));
}

Snapshot Snapshot::replacing(const Snapshot &from, Arrays arrays) {
  const Storage &f = *from.s_;
  auto s = std::make_shared<Storage>();
  // Each kind: the new array, or `from`'s span and whoever owns its memory.
  auto take = [&from](auto &given, auto &own, auto &span, const auto &from_span,
                      const std::shared_ptr<const Storage> &from_owner, auto &owner) {
    if (given) {
      own = std::move(*given);
      span = own;
    } else {
      span = from_span;
      owner = from_owner ? from_owner : from.s_;
    }
  };
  take(arrays.hosts_v4, s->own_h4, s->h4, f.h4, f.owner_h4, s->owner_h4);
  take(arrays.prefixes_v4, s->own_p4, s->p4, f.p4, f.owner_p4, s->owner_p4);
  take(arrays.hosts_v6, s->own_h6, s->h6, f.h6, f.owner_h6, s->owner_h6);
  take(arrays.prefixes_v6, s->own_p6, s->p6, f.p6, f.owner_p6, s->owner_p6);
  s->created = f.created;
  // Shared arrays were checked with the table they came from.
  std::string e;
  if (arrays.hosts_v4 || arrays.prefixes_v4) e = check_arrays(s->h4, s->p4, 32, "v4");
  if (e.empty() && (arrays.hosts_v6 || arrays.prefixes_v6))
    e = check_arrays(s->h6, s->p6, 128, "v6");
  if (!e.empty()) throw Error("invalid table: " + e);
  s->parent4 = arrays.prefixes_v4 ? parents(s->p4) : f.parent4;
  s->parent6 = arrays.prefixes_v6 ? parents(s->p6) : f.parent6;
  return Snapshot(std::move(s));
}

namespace {

// Opens a table file and reads and checks its header against the file size and the entry limit,
// before anything is mapped: a huge (or sparse) file with a plausible header is refused without
// touching its pages. Returns the open descriptor (the caller closes it); throws Error.
int open_checked(const std::string &path, SnapshotHeader &h, size_t &size) {
  // O_NONBLOCK: a FIFO given as the path is refused below instead of blocking the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(path + ": cannot open table: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(path + ": cannot stat table: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FormatError(path + ": not a sluice reputation table: not a regular file");
  }
  size = static_cast<size_t>(st.st_size);
  if (size < sizeof(SnapshotHeader)) {
    ::close(fd);
    throw FormatError(
        fmt::format("{}: not a sluice reputation table: {} bytes, shorter than the 64-byte header",
                    path, size));
  }
  const ssize_t got = ::pread(fd, &h, sizeof h, 0);
  if (got != static_cast<ssize_t>(sizeof h)) {
    int e = got < 0 ? errno : EIO;
    ::close(fd);
    throw Error(path + ": cannot read table header: " + std::strerror(e));
  }
  try {
    check_header(path, h, size);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

}  // namespace

SnapshotHeader Snapshot::load_header(const std::string &path) {
  SnapshotHeader h;
  size_t size = 0;
  ::close(open_checked(path, h, size));
  return h;
}

Snapshot Snapshot::load(const std::string &path) {
  SnapshotHeader h;
  size_t size = 0;
  const int fd = open_checked(path, h, size);
  void *map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) throw Error(path + ": cannot map table: " + std::strerror(map_errno));
  auto s = std::make_shared<Storage>();
  s->map = map;
  s->map_size = size;
  const auto *base = static_cast<const uint8_t *>(map);
  // Checked again on the mapping: the file may have changed since the header was read.
  std::memcpy(&h, base, sizeof h);
  check_header(path, h, size);
  Layout l = layout_for(h.counts);
  const uint64_t sums[4] = {block_checksum(base + l.off[0], h.counts[0] * sizeof(HostV4)),
                            block_checksum(base + l.off[1], h.counts[1] * sizeof(PrefixV4)),
                            block_checksum(base + l.off[2], h.counts[2] * sizeof(HostV6)),
                            block_checksum(base + l.off[3], h.counts[3] * sizeof(PrefixV6))};
  const uint64_t sum = table_checksum(h, sums);
  if (sum != h.checksum)
    throw FormatError(
        fmt::format("{}: checksum mismatch (stored {:016x}, computed {:016x}): corrupt table", path,
                    h.checksum, sum));
  s->h4 = {reinterpret_cast<const HostV4 *>(base + l.off[0]), static_cast<size_t>(h.counts[0])};
  s->p4 = {reinterpret_cast<const PrefixV4 *>(base + l.off[1]), static_cast<size_t>(h.counts[1])};
  s->h6 = {reinterpret_cast<const HostV6 *>(base + l.off[2]), static_cast<size_t>(h.counts[2])};
  s->p6 = {reinterpret_cast<const PrefixV6 *>(base + l.off[3]), static_cast<size_t>(h.counts[3])};
  s->created = h.created_unix;
  s->checksum = h.checksum;
  for (size_t k = 0; k < 4; ++k) s->keep_array_sum(k, sums[k]);
  if (auto e = s->check(); !e.empty()) throw FormatError(path + ": invalid table: " + e);
  s->index();
  return Snapshot(std::move(s));
}

SnapshotHeader snapshot_header(const uint64_t (&counts)[4], uint64_t created_unix) {
  SnapshotHeader h{};
  std::memcpy(h.magic, kSnapshotMagic, sizeof h.magic);
  h.version = kSnapshotVersion;
  h.header_size = sizeof(SnapshotHeader);
  for (size_t k = 0; k < 4; ++k) h.counts[k] = counts[k];
  h.created_unix = created_unix;
  h.checksum = 0;
  return h;
}

SnapshotHeader Snapshot::header() const {
  return snapshot_header({s_->h4.size(), s_->p4.size(), s_->h6.size(), s_->p6.size()}, s_->created);
}

SnapshotHeader Snapshot::file_header() const {
  SnapshotHeader h = header();
  h.checksum = checksum();
  return h;
}

std::vector<uint8_t> Snapshot::serialize() const {
  SnapshotHeader h = header();
  Layout l = layout_for(h.counts);
  std::vector<uint8_t> out(l.size, 0);
  auto put = [&](size_t off, const void *p, size_t n) {
    if (n) std::memcpy(out.data() + off, p, n);
  };
  put(l.off[0], s_->h4.data(), s_->h4.size_bytes());
  put(l.off[1], s_->p4.data(), s_->p4.size_bytes());
  put(l.off[2], s_->h6.data(), s_->h6.size_bytes());
  put(l.off[3], s_->p6.data(), s_->p6.size_bytes());
  h.checksum = checksum();
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

void Snapshot::save(const std::string &path, Durability durability) const {
  // The image serialize() builds, written from the arrays themselves: no copy of the table (a
  // 1M-entry table's 20 MB buffer, zeroed and filled, cost more than writing it).
  const SnapshotHeader h = file_header();
  static constexpr uint8_t kZeros[8] = {};
  std::vector<std::span<const uint8_t>> pieces{{reinterpret_cast<const uint8_t *>(&h), sizeof h}};
  auto array = [&](const void *p, size_t bytes) {
    if (bytes == 0) return;
    pieces.push_back({static_cast<const uint8_t *>(p), bytes});
    if (bytes % 8 != 0) pieces.push_back({kZeros, 8 - bytes % 8});
  };
  array(s_->h4.data(), s_->h4.size_bytes());
  array(s_->p4.data(), s_->p4.size_bytes());
  array(s_->h6.data(), s_->h6.size_bytes());
  array(s_->p6.data(), s_->p6.size_bytes());
  detail::write_file_atomic(path, pieces, durability);
}

TableEntries Snapshot::entries() const {
  return {{s_->h4.begin(), s_->h4.end()},
          {s_->p4.begin(), s_->p4.end()},
          {s_->h6.begin(), s_->h6.end()},
          {s_->p6.begin(), s_->p6.end()}};
}

std::span<const HostV4> Snapshot::hosts_v4() const {
  return s_->h4;
}
std::span<const PrefixV4> Snapshot::prefixes_v4() const {
  return s_->p4;
}
std::span<const HostV6> Snapshot::hosts_v6() const {
  return s_->h6;
}
std::span<const PrefixV6> Snapshot::prefixes_v6() const {
  return s_->p6;
}
uint64_t Snapshot::created_unix() const {
  return s_->created;
}

uint64_t Snapshot::checksum() const {
  if (s_->checksum) return *s_->checksum;
  if (s_->have_computed.load(std::memory_order_acquire))
    return s_->computed.load(std::memory_order_relaxed);
  const uint64_t sums[4] = {array_checksum(0), array_checksum(1), array_checksum(2),
                            array_checksum(3)};
  const uint64_t c = table_checksum(header(), sums);
  s_->computed.store(c, std::memory_order_relaxed);
  s_->have_computed.store(true, std::memory_order_release);
  return c;
}

uint64_t Snapshot::array_checksum(size_t kind) const {
  if (kind > 3) throw Error(fmt::format("no entry array {}", kind));
  const std::shared_ptr<const Storage> owners[4] = {s_->owner_h4, s_->owner_p4, s_->owner_h6,
                                                    s_->owner_p6};
  const Storage &o = owners[kind] ? *owners[kind] : *s_;
  if (o.have_array_sum[kind].load(std::memory_order_acquire))
    return o.array_sum[kind].load(std::memory_order_relaxed);
  const std::span<const std::byte> bytes[4] = {std::as_bytes(s_->h4), std::as_bytes(s_->p4),
                                               std::as_bytes(s_->h6), std::as_bytes(s_->p6)};
  const uint64_t sum = block_checksum(bytes[kind].data(), bytes[kind].size());
  o.keep_array_sum(kind, sum);
  return sum;
}

Match Snapshot::match_v4(uint32_t addr_be) const {
  uint32_t k = key4(addr_be);
  auto hosts = s_->h4;
  auto it = std::lower_bound(hosts.begin(), hosts.end(), k,
                             [](const HostV4 &h, uint32_t v) { return key(h) < v; });
  if (it != hosts.end() && key(*it) == k) {
    Match m;
    m.kind = Match::Kind::kHost;
    m.len = 32;
    m.index = static_cast<size_t>(it - hosts.begin());
    m.value = it->value;
    return m;
  }
  return longest_prefix(s_->p4, s_->parent4, k);
}

Match Snapshot::match_v6(const uint8_t addr[16]) const {
  U128 k = key6(addr);
  auto hosts = s_->h6;
  auto it = std::lower_bound(hosts.begin(), hosts.end(), k,
                             [](const HostV6 &h, U128 v) { return key(h) < v; });
  if (it != hosts.end() && key(*it) == k) {
    Match m;
    m.kind = Match::Kind::kHost;
    m.len = 128;
    m.index = static_cast<size_t>(it - hosts.begin());
    m.value = it->value;
    return m;
  }
  return longest_prefix(s_->p6, s_->parent6, k);
}

std::optional<sl_rep_value> Snapshot::lookup_v4(uint32_t addr_be) const {
  Match m = match_v4(addr_be);
  if (m.kind == Match::Kind::kNone) return std::nullopt;
  return m.value;
}

std::optional<sl_rep_value> Snapshot::lookup_v6(const uint8_t addr[16]) const {
  Match m = match_v6(addr);
  if (m.kind == Match::Kind::kNone) return std::nullopt;
  return m.value;
}

}  // namespace sluice::reputation
