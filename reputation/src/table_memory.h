// Memory for the entry arrays of tables that replace one another.
//
// A delta is applied to a copy of the table, so every change makes a new table of the old one's
// size, and whoever keeps a few versions (sluiced's history, the XDP loader's standby) frees one
// at the same pace. A fresh array of tens of megabytes pays its first-touch page faults on every
// change: on a KVM guest about 19 us per 4 KiB page, 100+ ms for a 1M-entry table, against a few
// milliseconds to copy into memory that is already mapped. So the arrays of freed tables (the
// large ones, a few per entry type) are kept and handed to the next table, and a fresh large array
// is advised for transparent huge pages (512 times fewer faults where the kernel has them).
#pragma once

#include <cstddef>
#include <vector>

namespace sluice::reputation::detail {

// An empty array with room for at least n entries: a kept one if one is large enough, else a new
// one with a little room to grow (so the next table, a few entries larger, can take it back).
template <class E>
std::vector<E> table_array(size_t n);

// Takes an array whose table is gone. Kept when it is large (at least kMinKeptBytes); of more
// than kKeptPerType of one type, the smallest is dropped. Three: the XDP loader's delta makes
// three tables at once (the running one and the standby restored from a base and a delta, and
// the new one), and sluiced one more for its own copy.
template <class E>
void recycle_table_array(std::vector<E> &&array);

inline constexpr size_t kMinKeptBytes = size_t{1} << 20;
inline constexpr size_t kKeptPerType = 3;

}  // namespace sluice::reputation::detail
