#include "sluice/xdp/heavy_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "core/sl_fanout.h"
#include "core/sl_greet.h"
#include "core/sl_heavy.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/fd.h"

namespace sluice::xdp {
namespace {

uint32_t possible_cpus() {
  const int n = libbpf_num_possible_cpus();
  if (n <= 0) throw_errno("cannot count the possible CPUs", n);
  return static_cast<uint32_t>(n);
}

uint64_t random_seed() {
  uint64_t seed = 0;
  while (seed == 0)
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
      throw_errno("cannot draw a heavy-hitter seed", errno);
  return seed;
}

}  // namespace

void size_per_cpu_arrays(bpf_object *obj) {
  for (const char *name : {"heavy_sketch", "verdict_table"}) {
    bpf_map *map = bpf_object__find_map_by_name(obj, name);
    if (map == nullptr) throw Error(std::string("no map ") + name + " in the XDP object");
    if (bpf_map__set_max_entries(map, possible_cpus()) != 0)
      throw Error(std::string("cannot size ") + name + " to the possible CPUs");
  }
}

namespace {

// Every CPU's value of an array indexed by CPU whose seed is 0 (a map just created) gets a random
// seed of its own; a reused pinned map keeps its seeds and what they placed.
template <class PerCpu>
void seed_per_cpu(int fd, const std::string &name) {
  auto v = std::make_unique<PerCpu>();
  const uint32_t n = possible_cpus();
  for (uint32_t cpu = 0; cpu < n; ++cpu) {
    if (bpf_map_lookup_elem(fd, &cpu, v.get()) != 0)
      throw_errno("cannot read " + name + "[" + std::to_string(cpu) + "]", errno);
    if (v->seed != 0) continue;
    v->seed = random_seed();
    if (bpf_map_update_elem(fd, &cpu, v.get(), BPF_ANY) != 0)
      throw_errno("cannot seed " + name + "[" + std::to_string(cpu) + "]", errno);
  }
}

}  // namespace

void seed_verdict_tables(int verdict_fd) {
  seed_per_cpu<sl_heavy_table>(verdict_fd, "verdict_table");
}

void seed_heavy_sketches(int sketch_fd) {
  seed_per_cpu<sl_heavy_sketch>(sketch_fd, "heavy_sketch");
}

namespace {

// A map of one shared table T with a `seed` field: a random seed when it has none (a map kept
// over an upgrade keeps its own).
template <typename T>
void seed_shared(int fd, const std::string &what) {
  auto t = std::make_unique<T>();
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(fd, &zero, t.get()) != 0) throw_errno("cannot read " + what, errno);
  if (t->seed != 0) return;
  t->seed = random_seed();
  if (bpf_map_update_elem(fd, &zero, t.get(), BPF_ANY) != 0)
    throw_errno("cannot seed " + what, errno);
}

}  // namespace

void seed_greet(int greet_fd) {
  seed_shared<sl_greet_table>(greet_fd, "the greeting slots");
}

void seed_fanout(int fanout_fd) {
  seed_shared<sl_fanout_table>(fanout_fd, "the fan-out pair slots");
}

void reset_heavy(int sketch_fd, int table_fd, uint64_t seed) {
  auto sk = std::make_unique<sl_heavy_sketch>();
  sk->seed = seed;
  const uint32_t n = possible_cpus();
  for (uint32_t cpu = 0; cpu < n; ++cpu)
    if (bpf_map_update_elem(sketch_fd, &cpu, sk.get(), BPF_ANY) != 0)
      throw_errno("cannot reset heavy_sketch", errno);
  sl_heavy_key k{};
  while (bpf_map_get_next_key(table_fd, nullptr, &k) == 0)
    if (bpf_map_delete_elem(table_fd, &k) != 0) throw_errno("cannot empty heavy_table", errno);
}

uint32_t heavy_epoch_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return sl_heavy_epoch(static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
                        static_cast<uint64_t>(ts.tv_nsec));
}

namespace {

// The candidates into `merge`: one sl_heavy_entry per CPU for each key (value size 32, a
// multiple of 8, so the kernel packs them without padding). The key is the map's: a CPU that
// never reported the prefix has a zero entry, which add_entry skips.
void add_entries(int table_fd, uint32_t n, heavy::HeavyMerge &merge) {
  static_assert(sizeof(sl_heavy_entry) % 8 == 0);
  std::vector<sl_heavy_entry> per(n);
  sl_heavy_key k{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(table_fd, prev, &next) == 0) {
    k = next;
    prev = &k;
    if (bpf_map_lookup_elem(table_fd, &k, per.data()) != 0) continue;  // evicted meanwhile
    for (sl_heavy_entry &e : per) {
      e.key = k;
      merge.add_entry(e);
    }
  }
}

std::string checked_pin_dir(const std::string &name) {
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  const std::string dir = pin_dir(name);
  if (access((dir + "/heavy_sketch").c_str(), F_OK) != 0)
    throw Error("instance '" + name +
                "' has no heavy-hitter maps (attached by an older sluice-xdp; sluice-xdp attach "
                "--upgrade adds them)");
  return dir;
}

}  // namespace

std::vector<heavy::HeavyCount> read_heavy(int sketch_fd, int table_fd, uint32_t epoch,
                                          size_t limit) {
  const uint32_t n = possible_cpus();
  heavy::HeavyMerge merge(epoch);
  add_entries(table_fd, n, merge);
  // Every CPU's sketch: this window's counts are re-read from them (summed).
  std::vector<std::unique_ptr<sl_heavy_sketch>> sketches;
  for (uint32_t cpu = 0; cpu < n; ++cpu) {
    auto sk = std::make_unique<sl_heavy_sketch>();
    if (bpf_map_lookup_elem(sketch_fd, &cpu, sk.get()) != 0)
      throw_errno("cannot read heavy_sketch[" + std::to_string(cpu) + "]", errno);
    merge.add_sketch(*sk);
    sketches.push_back(std::move(sk));
  }
  return merge.top(limit);
}

std::vector<heavy::HeavyCount> read_pregreet(int table_fd, uint32_t epoch, size_t limit) {
  heavy::HeavyMerge merge(epoch);
  add_entries(table_fd, possible_cpus(), merge);
  return merge.pregreet(limit);
}

std::vector<heavy::HeavyCount> pregreet_senders(const std::string &name, size_t limit) {
  const Fd table = open_pin(checked_pin_dir(name) + "/heavy_table");
  return read_pregreet(table.fd, heavy_epoch_now(), limit);
}

namespace {

// Every CPU's verdict_table entries (SYNs shaped and blocked, fan-out) into `merge`.
void add_verdict_tables(int verdict_fd, heavy::HeavyMerge &merge) {
  // Each CPU's table is copied while that CPU may write it: copied twice, and only the entries
  // the same in both copies are believed (one being written during either copy differs, or is
  // left for the next read), so a half-written key never reaches a reader.
  auto first = std::make_unique<sl_heavy_table>(), second = std::make_unique<sl_heavy_table>();
  const uint32_t n = possible_cpus();
  for (uint32_t cpu = 0; cpu < n; ++cpu) {
    if (bpf_map_lookup_elem(verdict_fd, &cpu, first.get()) != 0 ||
        bpf_map_lookup_elem(verdict_fd, &cpu, second.get()) != 0)
      throw_errno("cannot read verdict_table[" + std::to_string(cpu) + "]", errno);
    for (uint32_t b = 0; b < SL_HEAVY_TABLE_BUCKETS; ++b)
      for (uint32_t w = 0; w < SL_HEAVY_TABLE_WAYS; ++w) {
        const sl_heavy_entry &e = first->e[b][w];
        if (e.estimate == 0 || std::memcmp(&e, &second->e[b][w], sizeof(e)) != 0) continue;
        if (e.key.kind == SL_HEAVY_KIND_SHAPED || e.key.kind == SL_HEAVY_KIND_BLOCKED ||
            e.key.kind == SL_HEAVY_KIND_FANOUT)
          merge.add_entry(e);
      }
  }
}

Fd open_verdict_table(const std::string &name) {
  const std::string path = checked_pin_dir(name) + "/verdict_table";
  if (access(path.c_str(), F_OK) != 0)
    throw Error("instance '" + name +
                "' does not count shaped senders or fan-out (attached by an older sluice-xdp; "
                "sluice-xdp attach --upgrade adds it)");
  return open_pin(path);
}

}  // namespace

std::vector<heavy::VerdictCount> read_verdicts(int verdict_fd, uint32_t epoch, size_t limit) {
  heavy::HeavyMerge merge(epoch);
  add_verdict_tables(verdict_fd, merge);
  return merge.verdicts(limit);
}

std::vector<heavy::HeavyCount> read_fanout(int verdict_fd, uint32_t epoch, size_t limit) {
  heavy::HeavyMerge merge(epoch);
  add_verdict_tables(verdict_fd, merge);
  return merge.fanout(limit);
}

std::vector<heavy::VerdictCount> verdict_senders(const std::string &name, size_t limit) {
  const Fd table = open_verdict_table(name);
  return read_verdicts(table.fd, heavy_epoch_now(), limit);
}

std::vector<heavy::HeavyCount> fanout_senders(const std::string &name, size_t limit) {
  const Fd table = open_verdict_table(name);
  return read_fanout(table.fd, heavy_epoch_now(), limit);
}

std::vector<heavy::HeavyCount> heavy_senders(const std::string &name, size_t limit) {
  const std::string dir = checked_pin_dir(name);
  const Fd sketch = open_pin(dir + "/heavy_sketch");
  const Fd table = open_pin(dir + "/heavy_table");
  return read_heavy(sketch.fd, table.fd, heavy_epoch_now(), limit);
}

}  // namespace sluice::xdp
