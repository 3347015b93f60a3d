// Heap blocks on cache lines of their own, for the state one lcore writes on its packet path
// (flow table, pacer, sketches, held ACKs). Plain new and std::allocator give 16-byte alignment,
// so one lcore's table could end in the line where another lcore's begins, and their writes to
// those entries would bounce the line between the two cores. A block from here starts on a line
// and its size is rounded up to whole lines: no line holds parts of two blocks.
// A block of 2 MiB or more (a flow table's pool and index, the caps table) is on huge pages of
// its own instead (huge_alloc.h): aligned to one, so on lines of its own too.
// (tests/dataplane/lcore_lines_test.cc checks the allocator and that a pipeline's tables start on
// a line; that a per-lcore class allocates nothing in another way is left to review.)
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "block_allocator.h"
#include "huge_alloc.h"

namespace sluice::dataplane {

// 64 bytes on every x86-64 and most arm64 cores (a core with 128-byte lines gets half the
// benefit, never a fault).
inline constexpr std::size_t kCacheLine = 64;

inline constexpr std::align_val_t kLineAlign{kCacheLine};

inline void *line_alloc(std::size_t bytes) {
  if (huge_block(bytes)) return huge_alloc(bytes);
  const std::size_t whole = bytes == 0 ? kCacheLine : (bytes + kCacheLine - 1) & ~(kCacheLine - 1);
  return operator new(whole, kLineAlign);
}

// `bytes` as given to line_alloc.
inline void line_free(void *p, std::size_t bytes) noexcept {
  if (huge_block(bytes))
    huge_free(p, bytes);
  else
    operator delete(p, kLineAlign);
}

struct LineBlocks {
  static void *alloc(std::size_t bytes) { return line_alloc(bytes); }
  static void free(void *p, std::size_t bytes) noexcept { line_free(p, bytes); }
  static constexpr std::size_t kAlign = kCacheLine;
};

// std::vector's allocator: the vector's storage is one block of whole lines.
template <class T>
using LineAllocator = BlockAllocator<T, LineBlocks>;

template <class T>
using LineVector = std::vector<T, LineAllocator<T>>;

struct LineDelete {
  template <class T>
  void operator()(T *p) const noexcept {
    p->~T();
    line_free(p, sizeof(T));
  }
};

// unique_ptr to one object on lines of its own.
template <class T>
using LineBox = std::unique_ptr<T, LineDelete>;

// A value-initialised T (zeroed, for the core's C structs), as std::make_unique<T>() gives.
template <class T>
LineBox<T> make_line_box() {
  static_assert(alignof(T) <= kCacheLine, "an over-aligned type needs its own allocator");
  return LineBox<T>(new (line_alloc(sizeof(T))) T());
}

}  // namespace sluice::dataplane
