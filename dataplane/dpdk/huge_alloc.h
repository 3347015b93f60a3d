// Large tables the packet path reads at random (the reputation table's hash indexes: hundreds of
// MiB at 10M hosts) on transparent huge pages. On 4 KiB pages every lookup into such a table
// also misses the TLB, and the page walk that follows misses the cache as often as the slot
// itself does; 2 MiB pages take the walk off nearly every lookup.
//
// A block of at least kHugePage bytes is aligned to a huge page, its size rounded up to whole
// ones, and marked MADV_HUGEPAGE: a hint the kernel takes where transparent huge pages are
// "always" or "madvise" (Debian's default) and ignores where they are "never" (the block is then
// on 4 KiB pages, as before). Nothing is reserved and nothing is configured: the memory is
// ordinary anonymous memory of the process, returned when the block is freed. A smaller block is
// plain operator new.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace sluice::dataplane {

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

inline bool huge_block(std::size_t bytes) {
  return bytes >= kHugePage;
}

inline void *huge_alloc(std::size_t bytes) {
  if (!huge_block(bytes)) return operator new(bytes);
  const std::size_t whole = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  void *p = std::aligned_alloc(kHugePage, whole);
  if (p == nullptr) throw std::bad_alloc();
  // Advice only: refused (EINVAL where the kernel has no THP), the block still works.
  (void)madvise(p, whole, MADV_HUGEPAGE);
  return p;
}

// `bytes` as given to huge_alloc.
inline void huge_free(void *p, std::size_t bytes) noexcept {
  if (!huge_block(bytes))
    operator delete(p);
  else
    std::free(p);
}

// std::vector's allocator.
template <class T>
struct HugeAllocator {
  using value_type = T;
  HugeAllocator() = default;
  template <class U>
  HugeAllocator(const HugeAllocator<U> &) noexcept {}
  T *allocate(std::size_t n) { return static_cast<T *>(huge_alloc(n * sizeof(T))); }
  void deallocate(T *p, std::size_t n) noexcept { huge_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const HugeAllocator<U> &) const noexcept {
    return true;
  }
};

template <class T>
using HugeVector = std::vector<T, HugeAllocator<T>>;

}  // namespace sluice::dataplane
