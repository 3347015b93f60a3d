#include "dp_published.h"

#include <rte_rcu_qsbr.h>

#include <cstdlib>
#include <new>

namespace sluice::dataplane {

Published::Published(uint32_t max_readers) {
  const size_t sz = rte_rcu_qsbr_get_memsize(max_readers);
  // The QS variable only needs cache-line aligned memory, not DPDK's heap, so replay and unit
  // tests can use it without hugepages.
  void *mem = std::aligned_alloc(RTE_CACHE_LINE_SIZE,
                                 (sz + RTE_CACHE_LINE_SIZE - 1) & ~size_t{RTE_CACHE_LINE_SIZE - 1});
  if (mem == nullptr) throw std::bad_alloc();
  qs_ = static_cast<rte_rcu_qsbr *>(mem);
  if (rte_rcu_qsbr_init(qs_, max_readers) != 0) {
    std::free(mem);
    throw std::bad_alloc();
  }
  // Until a policy is set: pass everything, watch port 25 (sl_policy needs nlevels >= 1).
  auto *initial = new PolicyBox{};
  initial->policy.nlevels = 1;
  initial->policy.smtp_ports[0] = sl_htons(25);
  initial->level_names = {"pass"};
  policy_.store(initial, std::memory_order_release);
  rep_.store(new RepTable(RepTableInput{}), std::memory_order_release);
}

Published::~Published() {
  delete policy_.load();
  delete rep_.load();
  std::free(qs_);
}

void Published::wait_readers() {
  rte_rcu_qsbr_synchronize(qs_, RTE_QSBR_THRID_INVALID);
}

void Published::set_policy(std::unique_ptr<PolicyBox> p) {
  std::lock_guard lock(writer_);
  const PolicyBox *old = policy_.exchange(p.release(), std::memory_order_acq_rel);
  wait_readers();
  delete old;
  ++policy_updates_;
}

void Published::set_rep(std::unique_ptr<RepTable> r) {
  std::lock_guard lock(writer_);
  // The next generation: every tracked flow looks its sender up again on its next packet.
  r->set_generation(static_cast<uint32_t>(table_updates_ + 1));
  const RepTable *old = rep_.exchange(r.release(), std::memory_order_acq_rel);
  wait_readers();
  delete old;
  ++table_updates_;
}

}  // namespace sluice::dataplane
