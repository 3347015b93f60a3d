// The compiled reputation table: exact host entries and prefix entries, each carrying its
// EFFECTIVE value (a host entry already includes every prefix that covers it, a prefix every
// less specific one). A data plane therefore takes the exact host match if any, else the
// longest prefix match, and never adds anything up.
//
// The snapshot file (docs/sources.md, "Snapshot format") is what both data planes load: a
// 64-byte header (magic, version, counts, checksum) followed by the four entry arrays, each
// starting on an 8-byte boundary, so it can be mmap'ed and used in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/sl_shared.h"

namespace sluice::reputation {

// Addresses in network byte order, as on the wire; values in host order.
struct HostV4 {
  uint32_t addr_be;
  sl_rep_value value;
};
struct PrefixV4 {
  uint32_t addr_be;
  uint8_t len;
  uint8_t pad[3];
  sl_rep_value value;
};
struct HostV6 {
  uint8_t addr[16];
  sl_rep_value value;
};
struct PrefixV6 {
  uint8_t addr[16];
  uint8_t len;
  uint8_t pad[7];
  sl_rep_value value;
};
static_assert(sizeof(HostV4) == 12, "HostV4 layout");
static_assert(sizeof(PrefixV4) == 16, "PrefixV4 layout");
static_assert(sizeof(HostV6) == 24, "HostV6 layout");
static_assert(sizeof(PrefixV6) == 32, "PrefixV6 layout");

// Entries built field by field (the padding zeroed), for code that makes tables by hand.
inline PrefixV4 make_prefix_v4(uint32_t addr_be, uint8_t len, sl_rep_value value) {
  PrefixV4 p{};
  p.addr_be = addr_be;
  p.len = len;
  p.value = value;
  return p;
}
inline HostV6 make_host_v6(const uint8_t addr[16], sl_rep_value value) {
  HostV6 h{};
  for (int i = 0; i < 16; ++i) h.addr[i] = addr[i];
  h.value = value;
  return h;
}
inline PrefixV6 make_prefix_v6(const uint8_t addr[16], uint8_t len, sl_rep_value value) {
  PrefixV6 p{};
  for (int i = 0; i < 16; ++i) p.addr[i] = addr[i];
  p.len = len;
  p.value = value;
  return p;
}

// The four entry arrays of a table, owned: what a data plane builds its lookup structures from
// (sluice-dp's RepTable, the XDP maps), whether they come from a snapshot (Snapshot::entries()),
// a test or a benchmark. The one entry type family of every part of sluice.
struct TableEntries {
  std::vector<HostV4> hosts_v4;
  std::vector<PrefixV4> prefixes_v4;
  std::vector<HostV6> hosts_v6;
  std::vector<PrefixV6> prefixes_v6;
};

inline bool operator==(const sl_rep_value &a, const sl_rep_value &b) {
  return a.score == b.score && a.flags == b.flags;
}

// File layout. Little-endian (the magic reads differently on a big-endian host, so such a
// file is refused there rather than misread).
inline constexpr char kSnapshotMagic[8] = {'S', 'L', 'R', 'E', 'P', 'T', 'B', 'L'};
// 2: the checksum is table_checksum() (version 1's was image_checksum() of the whole file).
inline constexpr uint32_t kSnapshotVersion = 2;
struct SnapshotHeader {
  char magic[8];          // kSnapshotMagic
  uint32_t version;       // kSnapshotVersion
  uint32_t header_size;   // sizeof(SnapshotHeader) = 64
  uint64_t counts[4];     // hosts_v4, prefixes_v4, hosts_v6, prefixes_v6
  uint64_t created_unix;  // seconds since the epoch when the table was compiled
  uint64_t checksum;      // table_checksum() of this header and the four arrays
};
static_assert(sizeof(SnapshotHeader) == 64, "SnapshotHeader layout");

// The most entries a snapshot file may hold, all kinds together (a 2 GiB file of IPv6
// prefixes). Snapshot::load checks the header's counts against it and against the file size
// before it maps anything.
inline constexpr uint64_t kMaxSnapshotEntries = uint64_t{64} << 20;

// Whether a saved file must survive a power loss (written, fsynced, renamed over the old one) or
// only this boot (written and renamed: still atomic for readers and across a crash of the writing
// process, not of the kernel). A compiled table sluiced keeps is durable; the XDP loader's state
// beside its pins (which a reboot removes with it) and the deltas sluiced hands a data plane to
// read at once are for this boot, and skip the fsync's wait for the disk.
enum class Durability { kDurable, kThisBoot };

// The header of a table with these counts (hosts_v4, prefixes_v4, hosts_v6, prefixes_v6) and
// compile time, its checksum field zero: what Snapshot writes, and what sluice-dp's live table
// checksums for the table it would build.
SnapshotHeader snapshot_header(const uint64_t (&counts)[4], uint64_t created_unix);

// Magic, format version, header size and the entry limits of a table header (not its size or
// checksum: those need the file). Throws FormatError naming path.
void check_snapshot_header(const std::string &path, const SnapshotHeader &h);

// How a lookup matched, for tools that want to show it (sluicectl table lookup).
struct Match {
  enum class Kind { kNone, kHost, kPrefix };
  Kind kind = Kind::kNone;
  uint8_t len = 0;   // prefix length (32 / 128 for a host)
  size_t index = 0;  // index into hosts_*() or prefixes_*()
  sl_rep_value value{0, 0};
};

class Snapshot {
 public:
  Snapshot();  // empty table

  // Builds a snapshot from entry arrays. Each array must be sorted (hosts by address, prefixes
  // by (address, len)), unique, with no host bits set beyond len; throws Error otherwise.
  static Snapshot from_entries(std::vector<HostV4> hosts_v4, std::vector<PrefixV4> prefixes_v4,
                               std::vector<HostV6> hosts_v6, std::vector<PrefixV6> prefixes_v6,
                               uint64_t created_unix = 0);

  // A table made from `from` with some of its arrays replaced: each array given is the new
  // table's own (checked as from_entries() checks it); each left out is `from`'s, shared, not
  // copied (its memory lives as long as either table). What apply() builds: a change to one kind
  // of entry does not copy the others (at a million entries, 22 MB of IPv6 hosts per change).
  struct Arrays {
    std::optional<std::vector<HostV4>> hosts_v4;
    std::optional<std::vector<PrefixV4>> prefixes_v4;
    std::optional<std::vector<HostV6>> hosts_v6;
    std::optional<std::vector<PrefixV6>> prefixes_v6;
  };
  static Snapshot replacing(const Snapshot &from, Arrays arrays);

  // mmap()s the file read-only; validates magic, version, size, checksum and order. Throws
  // FormatError (a clear message naming the file) for a bad file, Error if it cannot be read.
  static Snapshot load(const std::string &path);
  // Only the header, checked against the file's size (not the checksum: nothing is mapped or
  // read past it). For a file this process wrote and load()ed before, e.g. a data plane's kept
  // table, whose header says its version (checksum) and counts. Throws Error.
  static SnapshotHeader load_header(const std::string &path);

  // Writes a temporary file next to path, fsyncs it and renames it over path: a reader sees
  // the old file or the new one, never a partial one. Throws Error.
  void save(const std::string &path, Durability durability = Durability::kDurable) const;

  // The whole file image (header + arrays), as save() writes it.
  std::vector<uint8_t> serialize() const;
  // The header save() writes: counts, compile time and the checksum (the table's version).
  SnapshotHeader file_header() const;

  std::span<const HostV4> hosts_v4() const;
  std::span<const PrefixV4> prefixes_v4() const;
  std::span<const HostV6> hosts_v6() const;
  std::span<const PrefixV6> prefixes_v6() const;
  TableEntries entries() const;  // a copy of the four arrays
  uint64_t created_unix() const;
  uint64_t checksum() const;  // as stored in (or computed for) the file
  // block_checksum() of one array's bytes: 0 hosts_v4, 1 prefixes_v4, 2 hosts_v6, 3 prefixes_v6.
  // Computed once per array and kept with it: tables that share an array share its sum.
  uint64_t array_checksum(size_t kind) const;

  // Exact host first, then longest prefix; nullopt when neither matches.
  std::optional<sl_rep_value> lookup_v4(uint32_t addr_be) const;
  std::optional<sl_rep_value> lookup_v6(const uint8_t addr[16]) const;
  Match match_v4(uint32_t addr_be) const;
  Match match_v6(const uint8_t addr[16]) const;

 private:
  struct Storage;
  explicit Snapshot(std::shared_ptr<const Storage> s);
  SnapshotHeader header() const;  // the file's header, checksum field zero
  std::shared_ptr<const Storage> s_;
};

// The checksum of a snapshot (or delta) image: 64-bit words mixed FNV-1a style (xor, multiply by
// the FNV prime, rotate) in four independent lanes, then folded. Not cryptographic: it catches
// truncation, corruption and torn copies, at memory speed.
// image starts with a 64-byte header whose bytes [56, 64) hold the checksum and count as zero.
uint64_t image_checksum(const uint8_t *image, size_t size);

// image_checksum() of an image given piece by piece, in order, that is never built whole (e.g.
// a table's image computed from a base table and changes to it): update() with consecutive
// pieces of any sizes, then finish() once. The same value as image_checksum() of the
// concatenation.
class ImageChecksum {
 public:
  ImageChecksum();
  // block_checksum() piece by piece: no header, no field taken as zero.
  static ImageChecksum block();
  void update(const void *data, size_t n);
  uint64_t finish();

 private:
  void word(uint64_t w);  // the word at offset size_ - 8 (size_ already counts it)
  uint64_t lane_[4];
  size_t skip_at_ = 56;  // the offset of the word counted as zero (the header's checksum field)
  size_t size_ = 0;      // bytes taken so far
  uint8_t part_[8];      // the started word, size_ % 8 bytes of it
};

// The checksum of a run of bytes as image_checksum() mixes them, with no header field skipped:
// what a table keeps per entry array.
uint64_t block_checksum(const void *data, size_t size);

// A table's version, the checksum its file header carries: image_checksum() of a 96-byte image,
// the header (its checksum field zero) followed by the block_checksum() of each of the four entry
// arrays in file order (as little-endian 64-bit words). Per array, so a change to one kind of
// entry checksums that array again and not the others (which the next table shares).
uint64_t table_checksum(const SnapshotHeader &header, const uint64_t (&arrays)[4]);

}  // namespace sluice::reputation
