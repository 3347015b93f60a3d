// The sources file: which lists make up the table and how much each weighs. INI form, read with
// Boost.Program_options' config-file parser; see docs/sources.md.
//
//   max_malformed = 100            # default for every source (optional)
//
//   [spamhaus-drop]                # one section per source; the name is the section name
//   type = drop                    # rbldnsd-ip4set | rbldnsd-ip4tset | rbldnsd-ip4trie |
//                                  # rbldnsd-ip6trie | rbldnsd-ip6tset | drop | drop-json | list
//   path = lists/drop.txt          # relative to the sources file
//   weight = 10                    # signed; default 1 (0 for allow sources)
//
//   [zen]
//   type = rbldnsd-ip4set
//   path = zen.zone
//   weight = 3
//   weight.127.0.0.4 = 5           # per return code (rbldnsd zones only)
//
//   [certified]
//   type = list
//   path = certified.txt
//   allow = true                   # allowlist: its entries are never shaped
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sluice/reputation/source.h"

namespace sluice::reputation {

struct SourcesFile {
  std::string path;
  std::vector<SourceConfig> sources;  // in file order
};

// Throws Error ("FILE: reason") on a syntax error, an unknown key, a missing type or path, a
// bad value.
SourcesFile load_sources_file(const std::string &path);
// The same from text; relative source paths are resolved against the directory of `path`.
SourcesFile parse_sources_text(std::string_view text, const std::string &path);

}  // namespace sluice::reputation
