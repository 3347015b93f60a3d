// Test support: real nats-server processes with JetStream on loopback, one node or a cluster of
// three, with one user per participant (the permissions of docs/feed.md section 4) and an
// administrator. Free ports, store directories under a temporary directory; the servers are
// killed when the harness is destroyed, and by the kernel if the test process dies
// (PR_SET_PDEATHSIG).
//
// The binary: $SLUICE_NATS_SERVER, else $SLUICE_TOOLS_DIR/nats-server/usr/bin/nats-server
// (SLUICE_TOOLS_DIR defaults to /var/cache/sluice-tools), else nats-server on PATH.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "feed/nats_feed.h"

namespace sluice::feed::testing {

// The nats-server binary, or "" when none is found.
std::string find_nats_server();

class NatsCluster {
 public:
  // nodes: 1 or 3. participants: the users to create (besides "admin").
  NatsCluster(int nodes, std::vector<std::string> participants);
  ~NatsCluster();
  NatsCluster(const NatsCluster &) = delete;
  NatsCluster &operator=(const NatsCluster &) = delete;

  // Connection settings as `user` ("admin" or a participant), listing every live node's URL,
  // or only node `only` when >= 0.
  NatsSettings settings(const std::string &user, int only = -1) const;
  std::string url(int node) const;
  int nodes() const { return static_cast<int>(nodes_.size()); }
  const std::string &dir() const { return dir_; }
  std::string password(const std::string &user) const;

  void kill(int node);   // SIGKILL and reap
  void start(int node);  // (re)start a stopped node with its store intact
  // Creates the stream as admin (replicas = nodes), retrying while the cluster forms.
  void create_stream();

 private:
  struct Node {
    int client_port = 0;
    int cluster_port = 0;
    pid_t pid = -1;
    std::string config;
  };
  void write_config(int i);
  void wait_ready(int i);

  std::string binary_;
  std::string dir_;
  std::vector<std::string> users_;
  std::vector<std::string> passwords_;
  std::vector<Node> nodes_;
};

}  // namespace sluice::feed::testing
