// What `dataplane pregreet` and `dataplane fanout` share: a data plane's list of addresses with
// one count each, most first, as a table or JSON, at most --limit of them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "command_registry.h"
#include "dataplane_client.h"

namespace sluicectl {

struct AddressCount {
  std::string address;
  uint64_t count = 0;
};

struct AddressCountsCommand {
  const char *usage;       // the first line of --help
  const char *help;        // what the list is
  const char *limit_help;  // --limit's help
  const char *column;      // the count's column and JSON key
  const char *noun;        // the summary line's: "N <noun>"
  std::function<std::vector<AddressCount>(sluice::control::DataplaneClient &, unsigned limit)>
      fetch;
};

// Parses --limit N (1..10000, default 100) and --json, asks the data plane and prints. A data
// plane that cannot answer: the error on stderr, exit 1.
int run_address_counts(Context &ctx, const AddressCountsCommand &c);

}  // namespace sluicectl
