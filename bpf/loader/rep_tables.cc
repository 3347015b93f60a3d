#include "sluice/xdp/rep_tables.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <numeric>
#include <thread>

#include <fmt/core.h>

#include "sluice/xdp/error.h"
#include "sluice/xdp/xdp_object.h"

namespace sluice::xdp {
namespace {

uint32_t be_to_host(uint32_t be) {
  return __builtin_bswap32(be);
}

uint64_t value_key(const sl_rep_value &v) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(v.score)) << 32) | v.flags;
}

// Deletes every entry of a hash map, a batch of buckets per system call
// (BPF_MAP_LOOKUP_AND_DELETE_BATCH). Walking the keys with get_next_key instead costs one call
// per entry: a million-entry set took over 20 s to clear that way.
void clear_hash(int fd, size_t key_size, size_t value_size) {
  constexpr uint32_t kBatch = 65536;
  std::vector<uint8_t> keys(key_size * kBatch), values(value_size * kBatch);
  uint32_t cursor = 0;  // the hash map's batch token: the next bucket
  bool first = true;
  for (;;) {
    uint32_t count = kBatch;
    const int err = bpf_map_lookup_and_delete_batch(fd, first ? nullptr : &cursor, &cursor,
                                                    keys.data(), values.data(), &count, nullptr);
    first = false;
    if (err == -ENOENT) return;  // every bucket walked (count holds the last few)
    if (err != 0) throw_errno("clearing a reputation hash map", -err);
  }
}

// Every entry of a hash map with reputation values, a batch of buckets per system call
// (BPF_MAP_LOOKUP_BATCH).
template <typename Key>
std::vector<std::pair<Key, sl_rep_value>> read_hash(int fd, const char *what) {
  constexpr uint32_t kBatch = 65536;
  std::vector<Key> keys(kBatch);
  std::vector<sl_rep_value> values(kBatch);
  std::vector<std::pair<Key, sl_rep_value>> out;
  uint32_t cursor = 0;  // the hash map's batch token: the next bucket
  bool first = true;
  for (;;) {
    uint32_t count = kBatch;
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &cursor, &cursor, keys.data(),
                                         values.data(), &count, nullptr);
    first = false;
    if (err != 0 && err != -ENOENT) throw_errno(std::string("reading ") + what, -err);
    for (uint32_t i = 0; i < count; ++i) out.emplace_back(keys[i], values[i]);
    if (err == -ENOENT) return out;  // every bucket walked (count held the last few)
  }
}

// Deletes every entry of a map one key at a time (an LPM trie has no batch delete).
void clear_one_by_one(int fd, size_t key_size) {
  std::vector<uint8_t> key(key_size);
  while (bpf_map_get_next_key(fd, nullptr, key.data()) == 0) {
    if (bpf_map_delete_elem(fd, key.data()) != 0 && errno != ENOENT)
      throw_errno("clearing the IPv6 prefix trie", errno);
  }
}

template <typename K, typename V>
void insert_batch(int fd, const std::vector<K> &keys, const std::vector<V> &values,
                  const char *what) {
  for (size_t off = 0; off < keys.size();) {
    uint32_t count = static_cast<uint32_t>(std::min<size_t>(keys.size() - off, 65536));
    const int err =
        bpf_map_update_batch(fd, keys.data() + off, values.data() + off, &count, nullptr);
    if (err != 0) throw_errno(std::string("loading ") + what, err);
    off += count;
  }
}

// An mmapable array map mapped for writing; unmapped on destruction.
class MappedArray {
 public:
  MappedArray(int fd, size_t map_bytes, const char *what) {
    const long page = sysconf(_SC_PAGESIZE);
    len_ = (map_bytes + page - 1) / page * page;
    p_ = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p_ == MAP_FAILED) throw_errno(std::string("mmap of ") + what, errno);
  }
  ~MappedArray() { munmap(p_, len_); }
  MappedArray(const MappedArray &) = delete;
  MappedArray &operator=(const MappedArray &) = delete;
  template <typename T>
  std::span<T> as(size_t count) const {
    return {static_cast<T *>(p_), count};
  }

 private:
  void *p_ = nullptr;
  size_t len_ = 0;
};

}  // namespace

Dir24Used write_dir24(std::span<const reputation::PrefixV4> prefixes, const Dir24Arrays &out) {
  for (const reputation::PrefixV4 &p : prefixes)
    if (p.len > 32) throw Error(fmt::format("IPv4 prefix length {} > 32", p.len));
  if (out.tbl24.size() != (size_t{1} << 24)) throw Error("tbl24 must have 2^24 entries");
  Dir24Used used;
  std::map<uint64_t, uint32_t> value_index;
  auto encode = [&](const sl_rep_value &v) -> uint32_t {
    auto [it, inserted] = value_index.emplace(value_key(v), static_cast<uint32_t>(used.values));
    if (inserted) {
      if (used.values >= out.values.size())
        throw Error(fmt::format("reputation table has more than {} distinct prefix values",
                                out.values.size()));
      out.values[used.values++] = v;
    }
    return it->second + 1;
  };
  std::fill(out.tbl24.begin(), out.tbl24.end(), 0u);
  // Shorter prefixes first, so a longer one overwrites the part of a shorter one it covers.
  std::vector<size_t> order(prefixes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return prefixes[a].len < prefixes[b].len; });
  for (size_t i : order) {
    const reputation::PrefixV4 &p = prefixes[i];
    const uint32_t mask = p.len == 0 ? 0 : ~0u << (32 - p.len);
    const uint32_t a = be_to_host(p.addr_be) & mask;
    const uint32_t e = encode(p.value);
    if (p.len <= 24) {
      const uint32_t first = a >> 8, count = 1u << (24 - p.len);
      std::fill(out.tbl24.begin() + first, out.tbl24.begin() + first + count, e);
      continue;
    }
    uint32_t &slot = out.tbl24[a >> 8];
    if ((slot & SLX_ENTRY_TBL8) == 0) {
      if (used.tbl8 >= out.tbl8.size())
        throw Error(fmt::format("reputation table needs more than {} /24s holding longer prefixes",
                                out.tbl8.size()));
      slx_tbl8_group &g = out.tbl8[used.tbl8];
      std::fill(std::begin(g.e), std::end(g.e), slot);  // inherit the covering prefix
      slot = SLX_ENTRY_TBL8 | static_cast<uint32_t>(used.tbl8++);
    }
    slx_tbl8_group &g = out.tbl8[slot & ~SLX_ENTRY_TBL8];
    const uint32_t first = a & 0xff, count = 1u << (32 - p.len);
    std::fill(g.e + first, g.e + first + count, e);
  }
  return used;
}

Dir24 build_dir24(std::span<const reputation::PrefixV4> prefixes) {
  Dir24 d;
  d.tbl24.resize(size_t{1} << 24);
  d.tbl8.resize(SLX_TBL8_GROUPS);
  d.values.resize(SLX_PFX_VALUES);
  const Dir24Used used = write_dir24(prefixes, {d.tbl24, d.tbl8, d.values});
  d.tbl8.resize(used.tbl8);
  d.values.resize(used.values);
  return d;
}

std::optional<sl_rep_value> dir24_lookup(const Dir24 &d, uint32_t addr_be) {
  const uint32_t a = be_to_host(addr_be);
  uint32_t e = d.tbl24[a >> 8];
  if (e & SLX_ENTRY_TBL8) e = d.tbl8[e & ~SLX_ENTRY_TBL8].e[a & 0xff];
  if (e == 0) return std::nullopt;
  return d.values[e - 1];
}

V6Prefixes split_v6(std::span<const reputation::PrefixV6> prefixes) {
  V6Prefixes out;
  for (const reputation::PrefixV6 &p : prefixes) {
    if (p.len > 128) throw Error(fmt::format("IPv6 prefix length {} > 128", p.len));
    std::array<uint8_t, 16> a;
    std::copy(std::begin(p.addr), std::end(p.addr), a.begin());
    for (unsigned b = 0; b < 16; b++) {  // zero the bits past len
      const unsigned lo = b * 8;
      if (lo >= p.len)
        a[b] = 0;
      else if (lo + 8 > p.len)
        a[b] &= static_cast<uint8_t>(0xff00u >> (p.len - lo));
    }
    if (p.len == 32 || p.len == 48 || p.len == 56 || p.len == 64) {
      slx_v6_prefix_key k{};
      k.len = p.len;
      std::copy(a.begin(), a.begin() + 8, k.addr);
      out.hashed.emplace_back(k, p.value);
    } else {
      slx_v6_lpm_key k{};
      k.prefixlen = p.len;
      std::copy(a.begin(), a.end(), k.addr);
      out.trie.emplace_back(k, slx_v6_lpm_value{p.value, p.len, 0});
    }
  }
  if (out.hashed.size() > SLX_MAX_PREFIXES_V6 || out.trie.size() > SLX_MAX_PREFIXES_V6)
    throw Error(fmt::format("reputation table has more than {} IPv6 prefixes of one kind",
                            SLX_MAX_PREFIXES_V6));
  return out;
}

RepMapFds rep_map_fds(const XdpObject &obj) {
  RepMapFds f;
  f.active = obj.map_fd("rep_active");
  for (int s = 0; s < 2; s++) {
    const std::string sfx = fmt::format("_{}", s);
    f.host4[s] = obj.map_fd("host4" + sfx);
    f.host6[s] = obj.map_fd("host6" + sfx);
    f.tbl24[s] = obj.map_fd("tbl24" + sfx);
    f.tbl8[s] = obj.map_fd("tbl8" + sfx);
    f.pfxval[s] = obj.map_fd("pfxval" + sfx);
    f.pfx6[s] = obj.map_fd("pfx6" + sfx);
    f.lpm6[s] = obj.map_fd("lpm6" + sfx);
  }
  return f;
}

PinnedRepMaps::PinnedRepMaps(const std::string &dir) {
  auto open = [&](const std::string &name) {
    const std::string path = dir + "/" + name;
    const int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
      const int err = errno;
      this->~PinnedRepMaps();
      throw_errno("cannot open pinned map " + path, err);
    }
    return fd;
  };
  fds_.active = open("rep_active");
  for (int s = 0; s < 2; s++) {
    const std::string sfx = fmt::format("_{}", s);
    fds_.host4[s] = open("host4" + sfx);
    fds_.host6[s] = open("host6" + sfx);
    fds_.tbl24[s] = open("tbl24" + sfx);
    fds_.tbl8[s] = open("tbl8" + sfx);
    fds_.pfxval[s] = open("pfxval" + sfx);
    fds_.pfx6[s] = open("pfx6" + sfx);
    fds_.lpm6[s] = open("lpm6" + sfx);
  }
}

PinnedRepMaps::~PinnedRepMaps() {
  for (int *fd : {&fds_.active, &fds_.host4[0], &fds_.host4[1], &fds_.host6[0], &fds_.host6[1],
                  &fds_.tbl24[0], &fds_.tbl24[1], &fds_.tbl8[0], &fds_.tbl8[1], &fds_.pfxval[0],
                  &fds_.pfxval[1], &fds_.pfx6[0], &fds_.pfx6[1], &fds_.lpm6[0], &fds_.lpm6[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

uint32_t table_generation(const RepMapFds &fds) {
  uint32_t zero = 0, gen = 0;
  const int err = bpf_map_lookup_elem(fds.active, &zero, &gen);
  if (err != 0) throw_errno("reading rep_active", err);
  return gen;
}

uint32_t active_set(const RepMapFds &fds) {
  return table_generation(fds) & 1;
}

namespace {

// The IPv4 prefixes written as DIR-24-8 straight into set `target`'s maps.
void write_v4_prefixes(const RepMapFds &fds, uint32_t target,
                       std::span<const reputation::PrefixV4> prefixes) {
  static_assert(sizeof(slx_tbl24_elem) * SLX_TBL24_ELEMS == sizeof(uint32_t) << 24);
  const MappedArray tbl24(fds.tbl24[target], sizeof(slx_tbl24_elem) * SLX_TBL24_ELEMS, "tbl24");
  const MappedArray tbl8(fds.tbl8[target], sizeof(slx_tbl8_group) * SLX_TBL8_GROUPS, "tbl8");
  const MappedArray values(fds.pfxval[target], sizeof(sl_rep_value) * SLX_PFX_VALUES, "pfxval");
  write_dir24(prefixes,
              {tbl24.as<uint32_t>(size_t{1} << 24), tbl8.as<slx_tbl8_group>(SLX_TBL8_GROUPS),
               values.as<sl_rep_value>(SLX_PFX_VALUES)});
}

// The IPv6 prefixes of set `target` replaced.
void write_v6_prefixes(const RepMapFds &fds, uint32_t target, const V6Prefixes &v6) {
  clear_hash(fds.pfx6[target], sizeof(slx_v6_prefix_key), sizeof(sl_rep_value));
  clear_one_by_one(fds.lpm6[target], sizeof(slx_v6_lpm_key));
  std::vector<slx_v6_prefix_key> p6k;
  std::vector<sl_rep_value> p6v;
  for (const auto &[k, v] : v6.hashed) {
    p6k.push_back(k);
    p6v.push_back(v);
  }
  insert_batch(fds.pfx6[target], p6k, p6v, "IPv6 prefixes");
  for (const auto &[k, v] : v6.trie)
    if (bpf_map_update_elem(fds.lpm6[target], &k, &v, BPF_ANY) != 0)
      throw_errno("loading IPv6 prefixes into the trie", errno);
}

std::array<uint8_t, 16> v6_key(const reputation::HostV6 &h) {
  std::array<uint8_t, 16> k;
  std::copy(std::begin(h.addr), std::end(h.addr), k.begin());
  return k;
}

// The keys `gone` deleted from a host map, then `put` written with their values, in batches.
template <typename Key>
void write_hosts(int fd, std::vector<Key> &gone, const std::vector<Key> &put,
                 const std::vector<sl_rep_value> &put_values, const char *what) {
  for (size_t off = 0; off < gone.size();) {
    uint32_t count = static_cast<uint32_t>(std::min<size_t>(gone.size() - off, 65536));
    const int err = bpf_map_delete_batch(fd, gone.data() + off, &count, nullptr);
    if (err != 0) throw_errno(std::string("removing ") + what, err);
    off += count;
  }
  insert_batch(fd, put, put_values, what);
}

// Brings a host map from the hosts in `was` to those in `now` (both sorted by address, as
// snapshots keep them): the keys only in `was` deleted, the new and changed ones written.
template <typename Host, typename Key, typename KeyOf, typename Less>
void update_hosts(int fd, std::span<const Host> was, std::span<const Host> now, KeyOf key_of,
                  Less less, const char *what) {
  std::vector<Key> gone, put;
  std::vector<sl_rep_value> put_values;
  size_t i = 0, j = 0;
  while (i < was.size() || j < now.size()) {
    if (j == now.size() || (i < was.size() && less(was[i], now[j]))) {
      gone.push_back(key_of(was[i++]));
    } else if (i == was.size() || less(now[j], was[i])) {
      put.push_back(key_of(now[j]));
      put_values.push_back(now[j++].value);
    } else {
      if (std::memcmp(&was[i].value, &now[j].value, sizeof(sl_rep_value)) != 0) {
        put.push_back(key_of(now[j]));
        put_values.push_back(now[j].value);
      }
      ++i;
      ++j;
    }
  }
  write_hosts(fd, gone, put, put_values, what);
}

// The same for a host map whose changes are known (a delta from the table the map holds).
template <typename Host, typename Key, typename KeyOf>
void write_host_changes(int fd, const reputation::EntryChanges<Host> &c, KeyOf key_of,
                        const char *what) {
  std::vector<Key> gone, put;
  std::vector<sl_rep_value> put_values;
  for (const Host &h : c.removed) gone.push_back(key_of(h));
  for (const std::vector<Host> *list : {&c.added, &c.changed})
    for (const Host &h : *list) {
      put.push_back(key_of(h));
      put_values.push_back(h.value);
    }
  write_hosts(fd, gone, put, put_values, what);
}

// A host map brought to hold exactly `now` (sorted by address, as snapshots keep them), whatever
// it held: its entries read, then the keys not in `now` deleted and the new and changed ones
// written. A map that holds a table close to `now` (the one before it, as when the standby state
// was lost) costs a read and a small write, not a deletion and an insertion per entry.
template <typename Host, typename Key, typename KeyOf, typename Less, typename HostOf>
void sync_hosts(int fd, std::span<const Host> now, KeyOf key_of, Less less, HostOf host_of,
                const char *what) {
  std::vector<Host> was;
  for (const auto &[k, v] : read_hash<Key>(fd, what)) was.push_back(host_of(k, v));
  std::sort(was.begin(), was.end(), less);
  update_hosts<Host, Key>(fd, std::span<const Host>(was), now, key_of, less, what);
}

uint32_t host4_key(const reputation::HostV4 &h) {
  return h.addr_be;
}
bool host4_less(const reputation::HostV4 &a, const reputation::HostV4 &b) {
  return be_to_host(a.addr_be) < be_to_host(b.addr_be);
}
reputation::HostV4 host4_of(uint32_t key, const sl_rep_value &v) {
  return {key, v};
}
// memcmp's order (the snapshots'), as two big-endian words: a sort of a million hosts by memcmp
// took twice as long.
bool host6_less(const reputation::HostV6 &a, const reputation::HostV6 &b) {
  uint64_t x[2], y[2];
  std::memcpy(x, a.addr, 16);
  std::memcpy(y, b.addr, 16);
  const uint64_t x0 = __builtin_bswap64(x[0]), y0 = __builtin_bswap64(y[0]);
  return x0 != y0 ? x0 < y0 : __builtin_bswap64(x[1]) < __builtin_bswap64(y[1]);
}
reputation::HostV6 host6_of(const std::array<uint8_t, 16> &key, const sl_rep_value &v) {
  reputation::HostV6 h{};
  std::copy(key.begin(), key.end(), std::begin(h.addr));
  h.value = v;
  return h;
}

template <typename T>
bool same_entries(std::span<const T> a, std::span<const T> b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

// Makes set `target` the active one; its value is the table's new generation.
void flip_to(const RepMapFds &fds, uint32_t next, Settle settle) {
  uint32_t zero = 0;
  const int err = bpf_map_update_elem(fds.active, &zero, &next, BPF_ANY);
  if (err != 0) throw_errno("switching rep_active", err);
  if (settle == Settle::kAfterFlip) std::this_thread::sleep_for(kFlipSettle);
}

// Set `target` written whole to hold `table`.
void write_set(const RepMapFds &fds, uint32_t target, const RepTable &table) {
  // What can fail on bad input first, before the slow host writes: the IPv6 split, then the
  // IPv4 prefixes written into the set (a failure there leaves only that set half written).
  const V6Prefixes v6 = split_v6(table.prefixes_v6);
  write_v4_prefixes(fds, target, table.prefixes_v4);

  sync_hosts<reputation::HostV4, uint32_t>(fds.host4[target], table.hosts_v4, host4_key, host4_less,
                                           host4_of, "IPv4 hosts");
  // uint8_t[16] keys, as the map has them
  sync_hosts<reputation::HostV6, std::array<uint8_t, 16>>(fds.host6[target], table.hosts_v6, v6_key,
                                                          host6_less, host6_of, "IPv6 hosts");
  write_v6_prefixes(fds, target, v6);
}

}  // namespace

ReplaceStats replace_table(const RepMapFds &fds, const RepTable &table, Settle settle) {
  ReplaceStats st;
  // rep_active counts replacements; its low bit is the active set. The next value flips the
  // set and is the table's new generation: every tracked flow looks its sender up again on its
  // next packet (core/sl_sequence.h), so a load or delta reaches live flows.
  const uint32_t next = table_generation(fds) + 1;
  const uint32_t target = next & 1;
  write_set(fds, target, table);
  flip_to(fds, next, settle);
  st.active_set = target;
  st.whole = true;
  return st;
}

void write_inactive_set(const RepMapFds &fds, const RepTable &table) {
  write_set(fds, (table_generation(fds) + 1) & 1, table);
}

ReplaceStats update_table(const RepMapFds &fds, const reputation::Snapshot &standby,
                          const reputation::Snapshot &next_table, Settle settle,
                          const reputation::Delta *changes) {
  ReplaceStats st;
  const uint32_t next = table_generation(fds) + 1;
  const uint32_t target = next & 1;
  const bool v4_prefixes_same = changes
                                    ? changes->prefixes_v4.size() == 0
                                    : same_entries(standby.prefixes_v4(), next_table.prefixes_v4());
  const bool v6_prefixes_same = changes
                                    ? changes->prefixes_v6.size() == 0
                                    : same_entries(standby.prefixes_v6(), next_table.prefixes_v6());
  // As replace_table: what can fail on bad input, before the host writes.
  const V6Prefixes v6 = v6_prefixes_same ? V6Prefixes{} : split_v6(next_table.prefixes_v6());
  if (!v4_prefixes_same) write_v4_prefixes(fds, target, next_table.prefixes_v4());

  if (changes) {
    write_host_changes<reputation::HostV4, uint32_t>(fds.host4[target], changes->hosts_v4,
                                                     host4_key, "IPv4 hosts");
    write_host_changes<reputation::HostV6, std::array<uint8_t, 16>>(
        fds.host6[target], changes->hosts_v6, v6_key, "IPv6 hosts");
  } else {
    update_hosts<reputation::HostV4, uint32_t>(fds.host4[target], standby.hosts_v4(),
                                               next_table.hosts_v4(), host4_key, host4_less,
                                               "IPv4 hosts");
    update_hosts<reputation::HostV6, std::array<uint8_t, 16>>(fds.host6[target], standby.hosts_v6(),
                                                              next_table.hosts_v6(), v6_key,
                                                              host6_less, "IPv6 hosts");
  }
  if (!v6_prefixes_same) write_v6_prefixes(fds, target, v6);
  flip_to(fds, next, settle);
  st.active_set = target;
  return st;
}

}  // namespace sluice::xdp
