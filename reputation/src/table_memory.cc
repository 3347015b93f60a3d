#include "table_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "sluice/reputation/snapshot.h"

namespace sluice::reputation::detail {
namespace {

template <class E>
struct Kept {
  std::mutex m;
  std::vector<std::vector<E>> arrays;
};

// Never destroyed: a table held by a static object may be freed after this file's statics.
template <class E>
Kept<E> &kept() {
  static Kept<E> *k = new Kept<E>;
  return *k;
}

// Asks for huge pages over the 2 MiB-aligned part of a new array, before anything touches it.
// Advice only: without transparent huge pages (or with them off) the call fails or does nothing
// and the array gets small pages as before.
void advise_huge_pages(const void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) (void)::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace

template <class E>
std::vector<E> table_array(size_t n) {
  Kept<E> &k = kept<E>();
  {
    std::lock_guard lock(k.m);
    auto best = k.arrays.end();
    for (auto it = k.arrays.begin(); it != k.arrays.end(); ++it)
      if (it->capacity() >= n && (best == k.arrays.end() || it->capacity() < best->capacity()))
        best = it;
    if (best != k.arrays.end()) {
      std::vector<E> a = std::move(*best);
      k.arrays.erase(best);
      a.clear();
      return a;
    }
  }
  std::vector<E> a;
  if (n * sizeof(E) < kMinKeptBytes) {
    a.reserve(n);
    return a;
  }
  a.reserve(n + n / 32);
  advise_huge_pages(a.data(), a.capacity() * sizeof(E));
  return a;
}

template <class E>
void recycle_table_array(std::vector<E> &&array) {
  if (array.capacity() * sizeof(E) < kMinKeptBytes) return;
  std::vector<E> dropped;  // freed after the lock is released
  Kept<E> &k = kept<E>();
  std::lock_guard lock(k.m);
  k.arrays.push_back(std::move(array));
  if (k.arrays.size() > kKeptPerType) {
    auto smallest =
        std::min_element(k.arrays.begin(), k.arrays.end(),
                         [](const auto &a, const auto &b) { return a.capacity() < b.capacity(); });
    dropped = std::move(*smallest);
    k.arrays.erase(smallest);
  }
}

#define SLUICE_TABLE_ARRAY(E)                     \
  template std::vector<E> table_array<E>(size_t); \
  template void recycle_table_array<E>(std::vector<E> &&);
SLUICE_TABLE_ARRAY(HostV4)
SLUICE_TABLE_ARRAY(PrefixV4)
SLUICE_TABLE_ARRAY(HostV6)
SLUICE_TABLE_ARRAY(PrefixV6)
#undef SLUICE_TABLE_ARRAY

}  // namespace sluice::reputation::detail
