// Large tables the packet path reads at random (the reputation table's hash indexes: hundreds of
// MiB at 10M hosts) on transparent huge pages. On 4 KiB pages a lookup into such a table can
// miss the TLB as well as the cache, and a table being written takes a page fault every 4 KiB.
// Measured on a KVM guest (results/dataplane-rate.md): a 1M-entry table is built in a fifth of
// the time; its lookups were no faster there (a guest's page walks also go through the host's
// page tables, which the guest's page size does not change). Lookups on bare metal: not measured.
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

#include "block_allocator.h"

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

struct HugeBlocks {
  static void *alloc(std::size_t bytes) { return huge_alloc(bytes); }
  static void free(void *p, std::size_t bytes) noexcept { huge_free(p, bytes); }
  // A small block is operator new's.
  static constexpr std::size_t kAlign = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
};

// std::vector's allocator.
template <class T>
using HugeAllocator = BlockAllocator<T, HugeBlocks>;

template <class T>
using HugeVector = std::vector<T, HugeAllocator<T>>;

}  // namespace sluice::dataplane
