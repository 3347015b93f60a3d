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

void RepTable::put4(HugeVector<Slot4> &t, uint32_t addr, uint8_t len, uint8_t used,
                    sl_rep_value v) {
  const size_t m = t.size() - 1;
  for (size_t s = hash4(addr, len) & m;; s = (s + 1) & m) {
    if (!t[s].used || (t[s].addr == addr && t[s].len == len)) {
      t[s] = Slot4{addr, len, used, 0, v};
      return;
    }
  }
}

void RepTable::put6(HugeVector<Slot6> &t, const uint8_t *addr, uint8_t len, uint8_t used,
                    sl_rep_value v) {
  const size_t m = t.size() - 1;
  for (size_t s = hash6(addr, len) & m;; s = (s + 1) & m) {
    if (!t[s].used || (t[s].len == len && std::memcmp(t[s].addr, addr, 16) == 0)) {
      Slot6 &x = t[s];
      std::memcpy(x.addr, addr, 16);
      x.len = len;
      x.used = used;
      x.value = v;
      return;
    }
  }
}

const RepTable::Slot4 *RepTable::find4(const HugeVector<Slot4> &t, uint32_t addr, uint8_t len) {
  const size_t m = t.size() - 1;
  for (size_t s = hash4(addr, len) & m;; s = (s + 1) & m) {
    const Slot4 &x = t[s];
    if (!x.used) return nullptr;
    if (x.addr == addr && x.len == len) return &x;
  }
}

const RepTable::Slot6 *RepTable::find6(const HugeVector<Slot6> &t, const uint8_t *addr,
                                       uint8_t len) {
  const size_t m = t.size() - 1;
  for (size_t s = hash6(addr, len) & m;; s = (s + 1) & m) {
    const Slot6 &x = t[s];
    if (!x.used) return nullptr;
    if (x.len == len && std::memcmp(x.addr, addr, 16) == 0) return &x;
  }
}

RepTable::Index::Index(const RepTableInput &in, const RepTableInput *removals)
    : hosts4(table_size(in.hosts_v4.size() + (removals ? removals->hosts_v4.size() : 0))),
      prefixes4(table_size(in.prefixes_v4.size() + (removals ? removals->prefixes_v4.size() : 0))),
      hosts6(table_size(in.hosts_v6.size() + (removals ? removals->hosts_v6.size() : 0))),
      prefixes6(table_size(in.prefixes_v6.size() + (removals ? removals->prefixes_v6.size() : 0))) {
  // Removal marks first, so an entry for the same key (which Changes rules out) would win.
  for (const RepTableInput *src : {removals, &in}) {
    if (src == nullptr) continue;
    const uint8_t used = src == &in ? kEntry : kRemoved;
    for (const auto &h : src->hosts_v4) put4(hosts4, h.addr_be, 32, used, h.value);
    for (const auto &p : src->prefixes_v4) {
      if (p.len > 32) throw std::invalid_argument("IPv4 prefix length above 32");
      put4(prefixes4, mask4(p.addr_be, p.len), p.len, used, p.value);
      lens4.set(p.len);
    }
    for (const auto &h : src->hosts_v6) put6(hosts6, h.addr, 128, used, h.value);
    for (const auto &p : src->prefixes_v6) {
      if (p.len > 128) throw std::invalid_argument("IPv6 prefix length above 128");
      uint8_t masked[16];
      mask6(p.addr, p.len, masked);
      put6(prefixes6, masked, p.len, used, p.value);
      lens6.set(p.len);
    }
    size += src->hosts_v4.size() + src->prefixes_v4.size() + src->hosts_v6.size() +
            src->prefixes_v6.size();
  }
}

size_t RepTable::Index::memory_bytes() const {
  return (hosts4.size() + prefixes4.size()) * sizeof(Slot4) +
         (hosts6.size() + prefixes6.size()) * sizeof(Slot6);
}

size_t RepTable::Changes::size() const {
  return upserts.hosts_v4.size() + upserts.prefixes_v4.size() + upserts.hosts_v6.size() +
         upserts.prefixes_v6.size() + removals.hosts_v4.size() + removals.prefixes_v4.size() +
         removals.hosts_v6.size() + removals.prefixes_v6.size();
}

void RepTable::set_lens() {
  std::bitset<33> l4 = b_->lens4;
  std::bitset<129> l6 = b_->lens6;
  if (overlay_) {
    l4 |= overlay_->lens4;
    l6 |= overlay_->lens6;
  }
  lens4_.clear();
  lens6_.clear();
  for (int l = 32; l >= 0; --l)
    if (l4.test(l)) lens4_.push_back(static_cast<uint8_t>(l));
  for (int l = 128; l >= 0; --l)
    if (l6.test(l)) lens6_.push_back(static_cast<uint8_t>(l));
}

RepTable::RepTable(const RepTableInput &in)
    : base_(std::make_shared<const Index>(in, nullptr)), b_(base_.get()) {
  set_lens();
  entries_ = b_->size;
  prefetch_ = b_->memory_bytes() >= kPrefetchFromBytes;
}

std::unique_ptr<RepTable> RepTable::overlaid(const RepTable &base, const Changes &changes,
                                             size_t entries) {
  std::unique_ptr<RepTable> t(new RepTable());
  t->base_ = base.base_;
  t->b_ = t->base_.get();
  if (changes.size() != 0)
    t->overlay_ = std::make_shared<const Index>(changes.upserts, &changes.removals);
  t->set_lens();
  t->entries_ = entries;
  t->prefetch_ = base.prefetch_;
  return t;
}

std::unique_ptr<RepTable> RepTable::base_only() const {
  std::unique_ptr<RepTable> t(new RepTable());
  t->base_ = base_;
  t->b_ = t->base_.get();
  t->set_lens();
  t->entries_ = b_->size;
  t->prefetch_ = prefetch_;
  return t;
}

std::unique_ptr<RepTable> RepTable::share() const {
  std::unique_ptr<RepTable> t(new RepTable(*this));
  t->generation_ = 0;
  return t;
}

std::optional<sl_rep_value> RepTable::lookup_v4(uint32_t addr_be) const {
  if (overlay_) return lookup_v4_overlaid(addr_be);
  if (const Slot4 *h = find4(b_->hosts4, addr_be, 32)) return h->value;
  for (uint8_t len : lens4_)
    if (const Slot4 *p = find4(b_->prefixes4, mask4(addr_be, len), len)) return p->value;
  return std::nullopt;
}

std::optional<sl_rep_value> RepTable::lookup_v6(const uint8_t addr[16]) const {
  if (overlay_) return lookup_v6_overlaid(addr);
  if (const Slot6 *h = find6(b_->hosts6, addr, 128)) return h->value;
  uint8_t masked[16];
  for (uint8_t len : lens6_) {
    mask6(addr, len, masked);
    if (const Slot6 *p = find6(b_->prefixes6, masked, len)) return p->value;
  }
  return std::nullopt;
}

// At each step the overlay decides when it holds the key (an entry: the answer; a removal
// mark: nothing at this step); the base is asked only for keys the overlay does not hold.
std::optional<sl_rep_value> RepTable::lookup_v4_overlaid(uint32_t addr_be) const {
  const Index &o = *overlay_;
  if (const Slot4 *x = find4(o.hosts4, addr_be, 32)) {
    if (x->used == kEntry) return x->value;
  } else if (const Slot4 *h = find4(b_->hosts4, addr_be, 32)) {
    return h->value;
  }
  for (uint8_t len : lens4_) {
    const uint32_t m = mask4(addr_be, len);
    if (o.lens4.test(len)) {
      if (const Slot4 *x = find4(o.prefixes4, m, len)) {
        if (x->used == kEntry) return x->value;
        continue;
      }
    }
    if (b_->lens4.test(len))
      if (const Slot4 *p = find4(b_->prefixes4, m, len)) return p->value;
  }
  return std::nullopt;
}

std::optional<sl_rep_value> RepTable::lookup_v6_overlaid(const uint8_t addr[16]) const {
  const Index &o = *overlay_;
  if (const Slot6 *x = find6(o.hosts6, addr, 128)) {
    if (x->used == kEntry) return x->value;
  } else if (const Slot6 *h = find6(b_->hosts6, addr, 128)) {
    return h->value;
  }
  uint8_t masked[16];
  for (uint8_t len : lens6_) {
    mask6(addr, len, masked);
    if (o.lens6.test(len)) {
      if (const Slot6 *x = find6(o.prefixes6, masked, len)) {
        if (x->used == kEntry) return x->value;
        continue;
      }
    }
    if (b_->lens6.test(len))
      if (const Slot6 *p = find6(b_->prefixes6, masked, len)) return p->value;
  }
  return std::nullopt;
}

std::optional<sl_rep_value> RepTable::find_host_v4(uint32_t addr_be) const {
  if (overlay_)
    if (const Slot4 *x = find4(overlay_->hosts4, addr_be, 32))
      return x->used == kEntry ? std::optional(x->value) : std::nullopt;
  if (const Slot4 *h = find4(b_->hosts4, addr_be, 32)) return h->value;
  return std::nullopt;
}

std::optional<sl_rep_value> RepTable::find_prefix_v4(uint32_t addr_be, uint8_t len) const {
  if (overlay_)
    if (const Slot4 *x = find4(overlay_->prefixes4, addr_be, len))
      return x->used == kEntry ? std::optional(x->value) : std::nullopt;
  if (const Slot4 *p = find4(b_->prefixes4, addr_be, len)) return p->value;
  return std::nullopt;
}

std::optional<sl_rep_value> RepTable::find_host_v6(const uint8_t addr[16]) const {
  if (overlay_)
    if (const Slot6 *x = find6(overlay_->hosts6, addr, 128))
      return x->used == kEntry ? std::optional(x->value) : std::nullopt;
  if (const Slot6 *h = find6(b_->hosts6, addr, 128)) return h->value;
  return std::nullopt;
}

std::optional<sl_rep_value> RepTable::find_prefix_v6(const uint8_t addr[16], uint8_t len) const {
  if (overlay_)
    if (const Slot6 *x = find6(overlay_->prefixes6, addr, len))
      return x->used == kEntry ? std::optional(x->value) : std::nullopt;
  if (const Slot6 *p = find6(b_->prefixes6, addr, len)) return p->value;
  return std::nullopt;
}

void RepTable::prefetch_v4(uint32_t addr_be) const {
  if (!prefetch_) return;
  const Index &b = *b_;
  __builtin_prefetch(&b.hosts4[hash4(addr_be, 32) & (b.hosts4.size() - 1)]);
  const size_t m = b.prefixes4.size() - 1;
  for (uint8_t len : lens4_) __builtin_prefetch(&b.prefixes4[hash4(mask4(addr_be, len), len) & m]);
}

void RepTable::prefetch_v6(const uint8_t addr[16]) const {
  if (!prefetch_) return;
  const Index &b = *b_;
  __builtin_prefetch(&b.hosts6[hash6(addr, 128) & (b.hosts6.size() - 1)]);
  const size_t m = b.prefixes6.size() - 1;
  uint8_t masked[16];
  for (uint8_t len : lens6_) {
    mask6(addr, len, masked);
    __builtin_prefetch(&b.prefixes6[hash6(masked, len) & m]);
  }
}

size_t RepTable::memory_bytes() const {
  return b_->memory_bytes() + (overlay_ ? overlay_->memory_bytes() : 0);
}

}  // namespace sluice::dataplane
