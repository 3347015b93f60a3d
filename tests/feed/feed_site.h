// Test and benchmark support: one feed site's files (its key, a trust file naming one peer, its
// credentials) under the harness's directory, and the FeedConfig that uses them: every node of
// the cluster as its servers, its state file beside them.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "feed/feed_service.h"
#include "feed/keys.h"
#include "nats_harness.h"

namespace sluice::feed::testing {

// trust_extra: more keys of the peer's section in the trust file ("max_entries = 10000000\n").
inline FeedConfig site_config(const NatsCluster &c, const std::string &me, const KeyPair &mine,
                              const std::string &peer, const KeyPair &theirs,
                              const std::string &trust_extra = "") {
  const std::string d = c.dir() + "/" + me;
  std::filesystem::create_directories(d);
  std::ofstream(d + "/key") << format_seed(mine.secret) << "\n";
  std::ofstream(d + "/trust.ini") << "[" << peer << "]\nkey = " << format_public_key(theirs.pub)
                                  << "\n"
                                  << trust_extra;
  std::ofstream(d + "/creds") << "user = " << me << "\npassword = " << c.password(me) << "\n";
  FeedConfig f;
  for (int i = 0; i < c.nodes(); ++i) f.servers.push_back(c.url(i));
  f.credentials_file = d + "/creds";
  f.participant = me;
  f.key_file = d + "/key";
  f.trust_file = d + "/trust.ini";
  f.state_file = d + "/feed.state";
  return f;
}

}  // namespace sluice::feed::testing
