#include "rep_table.h"
#include "hash_mix.h"

#include <stdexcept>

namespace sluice::dataplane {
namespace {

uint64_t hash4(uint32_t addr, uint8_t len) {
  return mix64((uint64_t{len} << 32) | addr);
}

uint64_t hash6(const uint8_t *addr, uint8_t len) {
  uint64_t a, b;
  std::memcpy(&a, addr, 8);
  std::memcpy(&b, addr + 8, 8);
  return mix64(mix64(a ^ len) ^ b);
}

// Table size: a power of two at least twice the entries (load <= 50%), at least 2.
size_t table_size(size_t n) {
  size_t s = 2;
  while (s < n * 2) s <<= 1;
  return s;
}

uint32_t mask4(uint32_t addr_be, uint8_t len) {
  if (len == 0) return 0;
  const uint32_t m = len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
  return addr_be & sl_htonl(m);
}

void mask6(const uint8_t *in, uint8_t len, uint8_t *out) {
  for (int i = 0; i < 16; ++i) {
    const int bits = len - i * 8;
    out[i] = bits >= 8 ? in[i] : bits <= 0 ? 0 : static_cast<uint8_t>(in[i] & (0xff << (8 - bits)));
  }
}

}  // namespace

void RepTable::put4(std::vector<Slot4> &t, uint32_t addr, uint8_t len, sl_rep_value v) {
  const size_t m = t.size() - 1;
  for (size_t s = hash4(addr, len) & m;; s = (s + 1) & m) {
    if (!t[s].used || (t[s].addr == addr && t[s].len == len)) {
      t[s] = Slot4{addr, len, 1, 0, v};
      return;
    }
  }
}

void RepTable::put6(std::vector<Slot6> &t, const uint8_t *addr, uint8_t len, sl_rep_value v) {
  const size_t m = t.size() - 1;
  for (size_t s = hash6(addr, len) & m;; s = (s + 1) & m) {
    if (!t[s].used || (t[s].len == len && std::memcmp(t[s].addr, addr, 16) == 0)) {
      Slot6 &x = t[s];
      std::memcpy(x.addr, addr, 16);
      x.len = len;
      x.used = 1;
      x.value = v;
      return;
    }
  }
}

const RepTable::Slot4 *RepTable::find4(const std::vector<Slot4> &t, uint32_t addr, uint8_t len) {
  const size_t m = t.size() - 1;
  for (size_t s = hash4(addr, len) & m;; s = (s + 1) & m) {
    const Slot4 &x = t[s];
    if (!x.used) return nullptr;
    if (x.addr == addr && x.len == len) return &x;
  }
}

const RepTable::Slot6 *RepTable::find6(const std::vector<Slot6> &t, const uint8_t *addr,
                                       uint8_t len) {
  const size_t m = t.size() - 1;
  for (size_t s = hash6(addr, len) & m;; s = (s + 1) & m) {
    const Slot6 &x = t[s];
    if (!x.used) return nullptr;
    if (x.len == len && std::memcmp(x.addr, addr, 16) == 0) return &x;
  }
}

RepTable::RepTable(const RepTableInput &in)
    : hosts4_(table_size(in.hosts_v4.size())),
      prefixes4_(table_size(in.prefixes_v4.size())),
      hosts6_(table_size(in.hosts_v6.size())),
      prefixes6_(table_size(in.prefixes_v6.size())) {
  for (const auto &h : in.hosts_v4) put4(hosts4_, h.addr_be, 32, h.value);
  std::bitset<33> l4;
  for (const auto &p : in.prefixes_v4) {
    if (p.len > 32) throw std::invalid_argument("IPv4 prefix length above 32");
    put4(prefixes4_, mask4(p.addr_be, p.len), p.len, p.value);
    l4.set(p.len);
  }
  for (const auto &h : in.hosts_v6) put6(hosts6_, h.addr, 128, h.value);
  std::bitset<129> l6;
  for (const auto &p : in.prefixes_v6) {
    if (p.len > 128) throw std::invalid_argument("IPv6 prefix length above 128");
    uint8_t masked[16];
    mask6(p.addr, p.len, masked);
    put6(prefixes6_, masked, p.len, p.value);
    l6.set(p.len);
  }
  for (int l = 32; l >= 0; --l)
    if (l4.test(l)) lens4_.push_back(static_cast<uint8_t>(l));
  for (int l = 128; l >= 0; --l)
    if (l6.test(l)) lens6_.push_back(static_cast<uint8_t>(l));
  entries_ =
      in.hosts_v4.size() + in.prefixes_v4.size() + in.hosts_v6.size() + in.prefixes_v6.size();
  prefetch_ = memory_bytes() >= kPrefetchFromBytes;
}

std::optional<sl_rep_value> RepTable::lookup_v4(uint32_t addr_be) const {
  if (const Slot4 *h = find4(hosts4_, addr_be, 32)) return h->value;
  for (uint8_t len : lens4_)
    if (const Slot4 *p = find4(prefixes4_, mask4(addr_be, len), len)) return p->value;
  return std::nullopt;
}

std::optional<sl_rep_value> RepTable::lookup_v6(const uint8_t addr[16]) const {
  if (const Slot6 *h = find6(hosts6_, addr, 128)) return h->value;
  uint8_t masked[16];
  for (uint8_t len : lens6_) {
    mask6(addr, len, masked);
    if (const Slot6 *p = find6(prefixes6_, masked, len)) return p->value;
  }
  return std::nullopt;
}

void RepTable::prefetch_v4(uint32_t addr_be) const {
  if (!prefetch_) return;
  __builtin_prefetch(&hosts4_[hash4(addr_be, 32) & (hosts4_.size() - 1)]);
  const size_t m = prefixes4_.size() - 1;
  for (uint8_t len : lens4_) __builtin_prefetch(&prefixes4_[hash4(mask4(addr_be, len), len) & m]);
}

void RepTable::prefetch_v6(const uint8_t addr[16]) const {
  if (!prefetch_) return;
  __builtin_prefetch(&hosts6_[hash6(addr, 128) & (hosts6_.size() - 1)]);
  const size_t m = prefixes6_.size() - 1;
  uint8_t masked[16];
  for (uint8_t len : lens6_) {
    mask6(addr, len, masked);
    __builtin_prefetch(&prefixes6_[hash6(masked, len) & m]);
  }
}

size_t RepTable::memory_bytes() const {
  return (hosts4_.size() + prefixes4_.size()) * sizeof(Slot4) +
         (hosts6_.size() + prefixes6_.size()) * sizeof(Slot6);
}

}  // namespace sluice::dataplane
