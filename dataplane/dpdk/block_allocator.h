// std::vector's allocator over a pair of block functions (line_alloc.h's, huge_alloc.h's): one
// adapter, so the allocators differ only in where their blocks come from. `Blocks` provides
//   static void *alloc(std::size_t bytes);
//   static void free(void *p, std::size_t bytes) noexcept;   // bytes as given to alloc
//   static constexpr std::size_t kAlign;                     // every block is aligned to it
#pragma once

#include <cstddef>

namespace sluice::dataplane {

template <class T, class Blocks>
struct BlockAllocator {
  static_assert(alignof(T) <= Blocks::kAlign, "an over-aligned type needs its own allocator");
  using value_type = T;
  BlockAllocator() = default;
  template <class U>
  BlockAllocator(const BlockAllocator<U, Blocks> &) noexcept {}
  T *allocate(std::size_t n) { return static_cast<T *>(Blocks::alloc(n * sizeof(T))); }
  void deallocate(T *p, std::size_t n) noexcept { Blocks::free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const BlockAllocator<U, Blocks> &) const noexcept {
    return true;
  }
};

}  // namespace sluice::dataplane
