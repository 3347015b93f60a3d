// Per-lcore state on cache lines of its own (dataplane/dpdk/line_alloc.h): blocks start on a line
// and no line holds parts of two blocks, whatever their sizes and order; the lcore's tables
// (flow table, sketches, caps) come from there.
#include <gtest/gtest.h>

#include <cstdint>
#include <malloc.h>

#include <cstring>
#include <utility>
#include <vector>

#include "line_alloc.h"
#include "pipeline.h"

namespace sluice::dataplane {
namespace {

uintptr_t addr(const void *p) {
  return reinterpret_cast<uintptr_t>(p);
}

// A block starts on a line and owns its last line whole (the allocator reserved the rest of it:
// nothing else can be put there), so no other allocation, per-lcore or not, shares a line with
// it.
TEST(LineAlloc, BlocksOfAnySizeStartOnALineAndOwnWholeLines) {
  std::vector<std::pair<void *, size_t>> blocks;
  for (size_t size : {size_t{1}, size_t{4}, size_t{16}, size_t{63}, size_t{64}, size_t{65},
                      size_t{100}, size_t{127}, size_t{128}, size_t{129}, size_t{1000},
                      size_t{4096}, size_t{4097}, kHugePage + 1}) {
    for (int copy = 0; copy < 4; ++copy) {
      void *p = line_alloc(size);
      blocks.push_back({p, size});
      EXPECT_EQ(addr(p) % kCacheLine, 0u) << size << " bytes";
      const size_t whole = (size + kCacheLine - 1) / kCacheLine * kCacheLine;
      EXPECT_GE(malloc_usable_size(p), whole) << size << " bytes";
      std::memset(p, 0xa5, whole);  // all of it is the block's (ASan checks)
    }
  }
  for (auto [p, size] : blocks) line_free(p, size);
}

TEST(LineAlloc, AVectorKeepsItsStorageOnLinesAsItGrows) {
  LineVector<uint32_t> v;
  for (uint32_t i = 0; i < 5000; ++i) {
    v.push_back(i);
    ASSERT_EQ(addr(v.data()) % kCacheLine, 0u) << "after " << i + 1 << " elements";
  }
  for (uint32_t i = 0; i < 5000; ++i) ASSERT_EQ(v[i], i);
}

TEST(LineAlloc, ABoxIsValueInitialised) {
  struct Counters {
    uint64_t a[9];
  };
  LineBox<Counters> box = make_line_box<Counters>();
  EXPECT_EQ(addr(box.get()) % kCacheLine, 0u);
  for (uint64_t x : box->a) EXPECT_EQ(x, 0u);
}

// Two lcores' pipelines, made one after the other as sluice-dp makes them: every table each
// one's packet path writes starts on a line.
TEST(LcoreLines, EachPipelinesTablesStartOnALine) {
  FlowTableConfig cfg;
  cfg.max_flows = 64;
  Pipeline a(cfg), b(cfg);
  for (Pipeline *p : {&a, &b}) {
    EXPECT_EQ(addr(&p->heavy_sketch()) % kCacheLine, 0u);
    EXPECT_EQ(addr(&p->heavy_table()) % kCacheLine, 0u);
    EXPECT_EQ(addr(&p->caps()) % kCacheLine, 0u);
    sl_flow_key key{};
    key.family = SL_AF_INET;
    FlowEntry *e = p->flows().insert(key, sl_flow_state{}, 1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(addr(e - p->flows().index_of(e)) % kCacheLine, 0u) << "the flow pool";
  }
}

}  // namespace
}  // namespace sluice::dataplane
