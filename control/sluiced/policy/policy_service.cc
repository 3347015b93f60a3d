#include "policy_service.h"

#include "core/sl_decide.h"

namespace sluice::sluiced::policy {

PolicyService::PolicyService(const PolicyConfig &cfg, Lookup lookup, TrapFn on_trap, Now now)
    : cfg_(cfg),
      lookup_(std::move(lookup)),
      on_trap_(std::move(on_trap)),
      now_(std::move(now)),
      recorder_(cfg.recent) {}

void PolicyService::answer(const PolicyRequest &req, std::string &out) {
  const std::optional<reputation::IpAddress> addr = reputation::parse_ip(req.client_address);
  sl_rep_value v{0, 0};
  if (addr) {
    if (auto hit = lookup_(*addr)) v = *hit;
  } else {
    ++recorder_.counters().unknown_clients;
  }
  unsigned level = 0;
  std::string_view level_name = "pass";
  if (levels_) {
    level = sl_level_for(&levels_->policy, v.score, v.flags, 0);
    if (level < levels_->names.size()) level_name = levels_->names[level];
  }
  bool trap = false;
  if (!cfg_.traps.empty() && !req.recipient.empty()) {
    recipient_lc_.assign(req.recipient);
    for (char &c : recipient_lc_)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const auto it = cfg_.traps.find(recipient_lc_);
    if (it != cfg_.traps.end()) {
      trap = true;
      if (addr && on_trap_) on_trap_(*addr, *it);
    }
  }
  static const ActionTemplate kDunno;
  const ActionTemplate &action = trap && cfg_.trap_action      ? *cfg_.trap_action
                                 : level < cfg_.actions.size() ? cfg_.actions[level]
                                                               : kDunno;
  action.reply(out, v.score, level, level_name);
  recorder_.record(req, now_ ? now_() : 0, v.score, level, action.verb(), trap);
}

}  // namespace sluice::sluiced::policy
