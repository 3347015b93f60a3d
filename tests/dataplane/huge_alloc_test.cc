// Large tables on transparent huge pages (dataplane/dpdk/huge_alloc.h): a block of 2 MiB or more
// starts on a huge page, owns whole ones, and its mapping carries the kernel's huge-page advice
// (the "hg" flag of /proc/self/smaps) wherever the kernel has transparent huge pages; smaller
// blocks are plain heap blocks. Whether the kernel then backs the block with huge pages depends
// on its memory at that moment, so that is not asserted here; the advice is what the code does.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "huge_alloc.h"

namespace sluice::dataplane {
namespace {

uintptr_t addr(const void *p) {
  return reinterpret_cast<uintptr_t>(p);
}

bool kernel_has_thp() {
  return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

// The VmFlags line of the mapping that holds p, or "" when no mapping does.
std::string vm_flags_of(const void *p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
      inside = lo <= addr(p) && addr(p) < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line + " ";
  }
  return "";
}

TEST(HugeAlloc, ALargeBlockStartsOnAHugePageOwnsWholeOnesAndIsAdvised) {
  for (size_t size : {kHugePage, kHugePage + 1, 5 * kHugePage - 64}) {
    void *p = huge_alloc(size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(addr(p) % kHugePage, 0u) << size << " bytes";
    const size_t whole = (size + kHugePage - 1) / kHugePage * kHugePage;
    std::memset(p, 0x5a, whole);  // all of it is the block's (ASan checks)
    const std::string flags = vm_flags_of(p);
    ASSERT_FALSE(flags.empty()) << "no mapping holds the block";
    if (kernel_has_thp())
      EXPECT_NE(flags.find(" hg "), std::string::npos) << size << " bytes: " << flags;
    huge_free(p, size);
  }
}

TEST(HugeAlloc, ASmallBlockIsAPlainOne) {
  void *p = huge_alloc(100);
  ASSERT_NE(p, nullptr);
  std::memset(p, 0x5a, 100);
  EXPECT_EQ(vm_flags_of(p).find(" hg "), std::string::npos)
      << "a small block's mapping (the heap's) was advised";
  huge_free(p, 100);
}

TEST(HugeAlloc, AVectorKeepsItsElementsAcrossTheThreshold) {
  HugeVector<uint64_t> v;
  const size_t n = 3 * kHugePage / sizeof(uint64_t);
  for (size_t i = 0; i < n; ++i) v.push_back(i * 7);
  EXPECT_EQ(addr(v.data()) % kHugePage, 0u);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], i * 7) << i;
}

}  // namespace
}  // namespace sluice::dataplane
