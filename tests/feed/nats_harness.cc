#include "nats_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <thread>

#include "fmt/format.h"

namespace sluice::feed::testing {
namespace fs = std::filesystem;

namespace {

bool executable(const std::string &p) {
  return !p.empty() && access(p.c_str(), X_OK) == 0;
}

int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr *>(&a), &len) != 0)
    throw std::runtime_error("free_port: cannot bind on 127.0.0.1");
  close(s);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(s, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

std::string random_secret() {
  std::random_device rd;
  return fmt::format("{:016x}{:016x}", (uint64_t{rd()} << 32) | rd(),
                     (uint64_t{rd()} << 32) | rd());
}

// The permissions of docs/feed.md section 4 for one participant.
std::string participant_user(const std::string &p, const std::string &password) {
  return fmt::format(
      R"(    {{ user: "{0}", password: "{1}", permissions: {{
        publish: {{ allow: [ "sluice.obs.{0}",
                            "$JS.API.INFO", "$JS.API.STREAM.INFO.SLUICE_OBS",
                            "$JS.API.STREAM.NAMES",
                            "$JS.API.CONSUMER.INFO.SLUICE_OBS.sluice-{0}",
                            "$JS.API.CONSUMER.CREATE.SLUICE_OBS.sluice-{0}",
                            "$JS.API.CONSUMER.DURABLE.CREATE.SLUICE_OBS.sluice-{0}",
                            "$JS.API.CONSUMER.MSG.NEXT.SLUICE_OBS.sluice-{0}",
                            "$JS.ACK.SLUICE_OBS.sluice-{0}.>" ] }}
        subscribe: {{ allow: [ "_INBOX.>" ] }} }} }}
)",
      p, password);
}

}  // namespace

std::string find_nats_server() {
  if (const char *e = std::getenv("SLUICE_NATS_SERVER"); e && *e) return executable(e) ? e : "";
  const char *tools = std::getenv("SLUICE_TOOLS_DIR");
  const std::string unpacked = std::string(tools && *tools ? tools : "/var/cache/sluice-tools") +
                               "/nats-server/usr/bin/nats-server";
  if (executable(unpacked)) return unpacked;
  const char *path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    std::string cand = dirs.substr(pos, end - pos) + "/nats-server";
    if (executable(cand)) return cand;
    pos = end + 1;
  }
  return "";
}

NatsCluster::NatsCluster(int nodes, std::vector<std::string> participants)
    : binary_(find_nats_server()) {
  if (binary_.empty()) throw std::runtime_error("no nats-server binary found");
  char tmpl[] = "/tmp/sluice-nats-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  users_.push_back("admin");
  for (auto &p : participants) users_.push_back(p);
  for (size_t i = 0; i < users_.size(); ++i) passwords_.push_back(random_secret());
  nodes_.resize(static_cast<size_t>(nodes));
  for (auto &n : nodes_) {
    n.client_port = free_port();
    n.cluster_port = free_port();
  }
  try {
    for (int i = 0; i < nodes; ++i) write_config(i);
    for (int i = 0; i < nodes; ++i) start(i);
  } catch (...) {
    for (int i = 0; i < nodes; ++i) kill(i);
    fs::remove_all(dir_);
    throw;
  }
}

NatsCluster::~NatsCluster() {
  for (int i = 0; i < nodes(); ++i) kill(i);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string NatsCluster::password(const std::string &user) const {
  for (size_t i = 0; i < users_.size(); ++i)
    if (users_[i] == user) return passwords_[i];
  throw std::runtime_error("no such user " + user);
}

std::string NatsCluster::url(int node) const {
  return fmt::format("nats://127.0.0.1:{}", nodes_.at(static_cast<size_t>(node)).client_port);
}

NatsSettings NatsCluster::settings(const std::string &user, int only) const {
  NatsSettings s;
  for (int i = 0; i < nodes(); ++i)
    if (only < 0 || i == only) s.servers.push_back(url(i));
  s.user = user;
  s.password = password(user);
  s.name = "test-" + user;
  return s;
}

void NatsCluster::write_config(int i) {
  Node &n = nodes_[static_cast<size_t>(i)];
  std::string users;
  users += fmt::format("    {{ user: \"admin\", password: \"{}\" }}\n", passwords_[0]);
  for (size_t u = 1; u < users_.size(); ++u) users += participant_user(users_[u], passwords_[u]);
  std::string cluster;
  if (nodes() > 1) {
    std::string routes;
    for (int j = 0; j < nodes(); ++j)
      if (j != i)
        routes += fmt::format(" \"nats-route://127.0.0.1:{}\",",
                              nodes_[static_cast<size_t>(j)].cluster_port);
    cluster =
        fmt::format("cluster {{ name: sluice-test, listen: \"127.0.0.1:{}\", routes: [{} ] }}\n",
                    n.cluster_port, routes);
  }
  const std::string store = fmt::format("{}/n{}", dir_, i);
  fs::create_directories(store);
  n.config = fmt::format("{}/n{}.conf", dir_, i);
  std::ofstream out(n.config);
  out << fmt::format("server_name: n{}\nlisten: \"127.0.0.1:{}\"\n", i, n.client_port)
      << fmt::format(
             "jetstream {{ store_dir: \"{}\", max_memory_store: 64MB, max_file_store: 512MB }}\n",
             store)
      << cluster << "authorization {\n  users: [\n"
      << users << "  ]\n}\n";
}

void NatsCluster::start(int i) {
  Node &n = nodes_[static_cast<size_t>(i)];
  if (n.pid > 0) return;
  const std::string log = fmt::format("{}/n{}.log", dir_, i);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(binary_.c_str(), binary_.c_str(), "-c", n.config.c_str(), static_cast<char *>(nullptr));
    _exit(127);
  }
  n.pid = pid;
  wait_ready(i);
}

void NatsCluster::wait_ready(int i) {
  Node &n = nodes_[static_cast<size_t>(i)];
  for (int tries = 0; tries < 200; ++tries) {  // 20 s at most
    if (port_open(n.client_port)) return;
    int status;
    if (waitpid(n.pid, &status, WNOHANG) == n.pid) {
      n.pid = -1;
      std::ifstream in(fmt::format("{}/n{}.log", dir_, i));
      std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (log.size() > 2000) log = log.substr(log.size() - 2000);
      throw std::runtime_error(fmt::format("nats-server n{} exited:\n{}", i, log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error(fmt::format("nats-server n{} did not listen", i));
}

void NatsCluster::kill(int i) {
  Node &n = nodes_.at(static_cast<size_t>(i));
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGKILL);
  waitpid(n.pid, nullptr, 0);
  n.pid = -1;
}

void NatsCluster::create_stream() {
  StreamSettings s;
  s.replicas = nodes();
  std::string last;
  for (int tries = 0; tries < 60; ++tries) {  // a cluster elects its meta leader first
    try {
      Connection admin(settings("admin"));
      ensure_stream(admin, s);
      return;
    } catch (const sluice::Error &e) {
      last = e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  throw std::runtime_error("cannot create the stream: " + last);
}

}  // namespace sluice::feed::testing
