// What every lcore reads and the control thread replaces: the policy and the reputation
// table. Readers load a pointer per burst and report a quiescent state (rte_rcu_qsbr) after
// it; a writer publishes the new object with one atomic store, waits for every reader to pass
// a quiescent state, then frees the old object. Lookups never block and never see a
// half-built structure; the packet path never takes a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/sl_shared.h"
#include "rep_table.h"

struct rte_rcu_qsbr;

namespace sluice::dataplane {

struct PolicyBox {
  sl_policy policy{};
  std::vector<std::string> level_names;
};

class Published {
 public:
  explicit Published(uint32_t max_readers);
  ~Published();
  Published(const Published &) = delete;
  Published &operator=(const Published &) = delete;

  // Readers (lcores), between quiescent states.
  const PolicyBox *policy() const { return policy_.load(std::memory_order_acquire); }
  const RepTable *rep() const { return rep_.load(std::memory_order_acquire); }
  rte_rcu_qsbr *qsbr() const { return qs_; }

  // Writers (control thread); serialised among themselves, never block readers. set_rep numbers
  // the table (RepTable::generation(): table_updates() after it), so live flows follow it.
  void set_policy(std::unique_ptr<PolicyBox> p);
  void set_rep(std::unique_ptr<RepTable> r);
  uint64_t policy_updates() const { return policy_updates_; }
  uint64_t table_updates() const { return table_updates_; }

 private:
  void wait_readers();
  rte_rcu_qsbr *qs_ = nullptr;
  std::atomic<const PolicyBox *> policy_{nullptr};
  std::atomic<const RepTable *> rep_{nullptr};
  std::mutex writer_;
  uint64_t policy_updates_ = 0, table_updates_ = 0;
};

}  // namespace sluice::dataplane
