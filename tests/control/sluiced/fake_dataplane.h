// A data plane in memory for sluiced's tests: runs a table (a Snapshot), applies delta files
// with the reputation library's apply() (what both data planes do), reports the checksum of
// what it runs as its version, and can be made to fail, restart or answer garbage.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane_client.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::sluiced::testing {

struct FakeDataplane {
  reputation::Snapshot table;
  bool has_table = false;
  uint32_t policy_generation = 0;
  std::vector<std::string> log;  // "load", "delta", "policy", "stats"
  bool down = false;             // connect and every call throw
  bool garbage = false;          // stats() throws like a reply that does not parse
  uint64_t forced_version = 0;   // non-zero: reported instead of the table's checksum
  // heavy_senders()'s answer, returned as it is (even beyond the limit asked for); nullopt:
  // it throws as a data plane that does not count them.
  std::optional<std::vector<control::HeavySender>> heavy;
  size_t heavy_asked = 0;  // heavy_senders() calls that reached it
  // pregreet_senders()'s answer, as it is; nullopt: it throws as a data plane that does not
  // test for pregreet. By default an empty list.
  std::optional<std::vector<control::PregreetSender>> pregreet =
      std::vector<control::PregreetSender>{};
  // verdict_senders()'s answer, the same way.
  std::optional<std::vector<control::VerdictSender>> verdicts =
      std::vector<control::VerdictSender>{};
  // fanout_senders()'s answer, the same way.
  std::optional<std::vector<control::FanoutSender>> fanout = std::vector<control::FanoutSender>{};

  void restart() {
    table = reputation::Snapshot();
    has_table = false;
    policy_generation = 0;
  }
  uint64_t version() const {
    return forced_version ? forced_version : has_table ? table.checksum() : 0;
  }
  size_t count(const std::string &what) const {
    size_t n = 0;
    for (const auto &l : log) n += l == what;
    return n;
  }
};

class FakeClient : public control::DataplaneClient {
 public:
  FakeClient(std::string spec, std::shared_ptr<FakeDataplane> dp)
      : spec_(std::move(spec)), dp_(std::move(dp)) {
    if (dp_->down) throw control::DataplaneError(spec_ + ": cannot connect (down)");
  }
  std::string describe() const override { return spec_; }
  control::TableChange load_table(const std::string &path) override {
    check();
    dp_->table = reputation::Snapshot::load(path);
    dp_->has_table = true;
    dp_->log.push_back("load");
    return {entries(), ""};
  }
  control::TableChange apply_delta(const std::string &path) override {
    check();
    if (!dp_->has_table) throw control::DataplaneError(spec_ + ": no table to apply a delta to");
    dp_->table = reputation::apply(dp_->table, reputation::Delta::load(path));
    dp_->log.push_back("delta");
    return {entries(), ""};
  }
  uint32_t set_policy(const std::string &) override {
    check();
    dp_->log.push_back("policy");
    return ++dp_->policy_generation;
  }
  control::DataplaneStats stats() override {
    check();
    if (dp_->garbage) throw control::DataplaneError(spec_ + ": reply is not JSON");
    dp_->log.push_back("stats");
    control::DataplaneStats s;
    s.kind = "fake";
    s.table.version = dp_->version();
    s.table.entries = entries();
    s.policy.generation = dp_->policy_generation;
    return s;
  }
  std::vector<control::DataplaneFlow> flows(size_t) override { return {}; }
  std::vector<control::HeavySender> heavy_senders(size_t limit) override {
    check();
    ++dp_->heavy_asked;
    if (!dp_->heavy) return DataplaneClient::heavy_senders(limit);
    return *dp_->heavy;
  }
  std::vector<control::PregreetSender> pregreet_senders(size_t limit) override {
    check();
    if (!dp_->pregreet) return DataplaneClient::pregreet_senders(limit);
    return *dp_->pregreet;
  }
  std::vector<control::VerdictSender> verdict_senders(size_t limit) override {
    check();
    if (!dp_->verdicts) return DataplaneClient::verdict_senders(limit);
    return *dp_->verdicts;
  }
  std::vector<control::FanoutSender> fanout_senders(size_t limit) override {
    check();
    if (!dp_->fanout) return DataplaneClient::fanout_senders(limit);
    return *dp_->fanout;
  }

 private:
  void check() const {
    if (dp_->down) throw control::DataplaneError(spec_ + ": connection reset");
  }
  uint64_t entries() const {
    const auto &t = dp_->table;
    return t.hosts_v4().size() + t.prefixes_v4().size() + t.hosts_v6().size() +
           t.prefixes_v6().size();
  }
  std::string spec_;
  std::shared_ptr<FakeDataplane> dp_;
};

}  // namespace sluice::sluiced::testing
