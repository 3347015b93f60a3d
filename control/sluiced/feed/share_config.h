// The sharing keys of [feed] in sluiced.ini (docs/feed.md, "Sharing this site's observations"):
//
//   [feed]
//   share = conn_rate, pregreet, trap_hit, complaint, shaped, blocked   # or "none"; default: all
//   share_interval = 60s      # per sender and kind, one publish per interval (1s .. 1h)
//   share_ttl = 1h            # the suggested ttl published (60s .. 30d)
//   share_max_entries = 100000  # senders x kinds kept at once (1 .. 10000000)
//   share_rate = 1000         # observations published per second, at most (1 .. 100000)
#pragma once

#include "daemon/config.h"
#include "local_share.h"

namespace sluice::sluiced {

void describe_share_config(po::options_description &feed_section);
// Throws ConfigError("feed.KEY: reason").
ShareSettings read_share_config(const po::variables_map &vm);

}  // namespace sluice::sluiced
