// SYN heavy hitters in the XDP maps (bpf/progs/sluice_maps.bpf.h): heavy_sketch, one
// sl_heavy_sketch per possible CPU, and heavy_table, an LRU per-CPU hash of candidate prefixes.
// Sizing and seeding at load, and reading them as sluice-dp's lcores are read
// (dataplane/common/heavy_merge.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "heavy_merge.h"

struct bpf_object;

namespace sluice::xdp {

// Before load: heavy_sketch and verdict_table get one entry per possible CPU (the programs index
// them by bpf_get_smp_processor_id()). Throws Error.
void size_per_cpu_arrays(bpf_object *obj);

// After load: every CPU's sketch whose seed is 0 (a map just created) gets a random seed of
// its own, as each of sluice-dp's lcores draws one; a reused pinned map keeps its seeds and
// counts. Throws Error.
void seed_heavy_sketches(int sketch_fd);
// The same for every CPU's verdict table (its bucket hash's seed).
void seed_verdict_tables(int verdict_fd);

// After load: the greeting slots (core/sl_greet.h) get a random seed if theirs is 0 (a map just
// created); a reused pinned map keeps its seed and slots. Throws Error.
void seed_greet(int greet_fd);
// Likewise the fan-out pair slots (core/sl_fanout.h).
void seed_fanout(int fanout_fd);

// Every CPU's sketch emptied and given `seed`, every candidate removed (tests: the columns a
// native runner with that seed uses). Throws Error.
void reset_heavy(int sketch_fd, int table_fd, uint64_t seed);

// The window the programs count in now: their clock is bpf_ktime_get_ns (CLOCK_MONOTONIC).
uint32_t heavy_epoch_now();

// The `limit` heaviest prefixes in window `epoch`, heaviest first: every CPU's candidate
// entries and every CPU's sketch go into one heavy::HeavyMerge, which sums them over CPUs (each
// CPU counts only the SYNs it received, so the sum is the prefix's total, an upper bound like
// each sketch's estimate). A prefix is listed once some CPU's count reached the threshold.
std::vector<heavy::HeavyCount> read_heavy(int sketch_fd, int table_fd, uint32_t epoch,
                                          size_t limit);

// The `limit` addresses with the most pregreet connections (the event entries of heavy_table,
// SL_HEAVY_KIND_PREGREET), summed over CPUs, most first.
std::vector<heavy::HeavyCount> read_pregreet(int table_fd, uint32_t epoch, size_t limit);
std::vector<heavy::HeavyCount> pregreet_senders(const std::string &name, size_t limit);

// The `limit` senders (per level) with the most SYNs shaped and blocked (the entries of
// verdict_table), summed over CPUs, most first.
std::vector<heavy::VerdictCount> read_verdicts(int verdict_fd, uint32_t epoch, size_t limit);
std::vector<heavy::VerdictCount> verdict_senders(const std::string &name, size_t limit);

// The `limit` subscribers with the most fan-out (the SL_HEAVY_KIND_FANOUT entries of
// verdict_table: remote MTAs new to them per fan-out window, core/sl_fanout.h), summed over
// CPUs, most first.
std::vector<heavy::HeavyCount> read_fanout(int verdict_fd, uint32_t epoch, size_t limit);
std::vector<heavy::HeavyCount> fanout_senders(const std::string &name, size_t limit);

// read_heavy on the pinned maps of instance NAME, at the window now. Throws Error.
std::vector<heavy::HeavyCount> heavy_senders(const std::string &name, size_t limit);

}  // namespace sluice::xdp
