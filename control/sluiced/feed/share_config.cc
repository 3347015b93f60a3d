#include "share_config.h"

#include "input_text.h"

namespace sluice::sluiced {
void describe_share_config(po::options_description &feed_section) {
  feed_section.add_options()                                                                    //
      ("feed.share", po::value<std::string>(), "local observation kinds published, or none")    //
      ("feed.share_interval", po::value<std::string>(), "one publish per sender and kind per")  //
      ("feed.share_ttl", po::value<std::string>(), "the suggested ttl of what is published")    //
      ("feed.share_max_entries", po::value<std::string>(), "senders x kinds kept at once")      //
      ("feed.share_rate", po::value<std::string>(), "observations published per second");
}

ShareSettings read_share_config(const po::variables_map &vm) {
  using namespace std::chrono_literals;
  ShareSettings s = default_share_settings();
  if (const std::string *kinds = config_value(vm, "feed.share")) {
    s.kinds.fill(false);
    std::string_view rest = *kinds;
    bool any = false, none = false;
    while (!rest.empty()) {
      const size_t cut = rest.find_first_of(", ");
      const std::string_view word = rest.substr(0, cut);
      rest.remove_prefix(cut == std::string_view::npos ? rest.size() : cut + 1);
      if (word.empty()) continue;
      if (word == "none") {
        none = true;
        continue;
      }
      const auto k = local_kind_from_string(word);
      if (!k || !feed_kind(*k))
        throw ConfigError(
            "feed.share: " + shown(word) +
            " is not one of conn_rate, pregreet, trap_hit, complaint, shaped, blocked, fan_out (or "
            "none)");
      s.kinds[static_cast<size_t>(*k)] = true;
      any = true;
    }
    if (none && any) throw ConfigError("feed.share: 'none' with kinds");
    if (!none && !any)
      throw ConfigError("feed.share: empty (leave it out to share every kind, or write none)");
  }
  s.interval_ms = config_duration(vm, "feed.share_interval", 60s, 1s, 1h).count();
  s.ttl_s = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(
          config_duration(vm, "feed.share_ttl", 1h, std::chrono::seconds(feed::kMinTtlSeconds),
                          std::chrono::seconds(feed::kMaxTtlSeconds)))
          .count());
  s.max_entries = config_whole_number(vm, "feed.share_max_entries", 100000, 1, 10000000);
  s.per_second = static_cast<uint32_t>(config_whole_number(vm, "feed.share_rate", 1000, 1, 100000));
  return s;
}

}  // namespace sluice::sluiced
