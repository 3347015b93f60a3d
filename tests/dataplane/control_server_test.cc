// The control socket of sluice-dp against hostile and careless clients, without DPDK: the
// server with a small stand-in handler, real Unix sockets, short time limits. What is asserted
// is behaviour (who gets an answer, what the answer is, what is left on disk), never speed.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "bounded_file.h"
#include "common/privileged.h"
#include "control_dispatch.h"
#include "control_proto.h"
#include "control_server.h"

namespace sluice::dataplane {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string frame(const std::string &body) {
  std::string f(4, '\0');
  const auto n = static_cast<uint32_t>(body.size());
  f[0] = static_cast<char>(n >> 24);
  f[1] = static_cast<char>(n >> 16);
  f[2] = static_cast<char>(n >> 8);
  f[3] = static_cast<char>(n);
  return f + body;
}

int connect_to(const std::string &path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_raw(int fd, const std::string &bytes) {
  ASSERT_TRUE(proto::write_all(fd, bytes.data(), bytes.size()));
}

// The next reply frame, parsed; null when the connection ends first.
json read_reply(int fd) {
  std::string body;
  if (proto::read_frame(fd, body) != proto::ReadStatus::kOk) return nullptr;
  return json::parse(body);  // throws on invalid JSON: the test fails
}

json call(int fd, const json &req) {
  send_raw(fd, frame(req.dump()));
  return read_reply(fd);
}

// Reads until EOF; true when the peer closed the connection.
bool closed_by_peer(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r == 0) return true;
    if (r < 0 && errno != EINTR) return errno == ECONNRESET;
  }
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    dir_ = fs::temp_directory_path() /
           ("sluice_ctlsrv_" + std::to_string(getpid()) + "_" + std::to_string(++n));
    fs::create_directories(dir_);
    sock_ = (dir_ / "dp.sock").string();
    limits_.request_timeout = std::chrono::milliseconds(300);
    limits_.reply_timeout = std::chrono::milliseconds(300);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  // ping -> ok; echo -> {"ok":true,"echo":<text>}; big -> a reply of `size` bytes;
  // latin1 -> a reply with a Latin-1 byte in a string; throw_int -> throws a non-exception.
  ControlServer::Handler handler() {
    return [this](const json &req, int file_fd) -> json {
      ++handled_;
      const std::string cmd = req["cmd"];
      if (cmd == "ping") return {{"ok", true}};
      if (cmd == "file") {
        const std::string text = read_bounded(file_fd, "sent", 1 << 20);
        return {{"ok", true}, {"size", text.size()}};
      }
      if (cmd == "big")
        return {{"ok", true}, {"data", std::string(req["size"].get<size_t>(), 'x')}};
      if (cmd == "latin1") return {{"ok", true}, {"levels", {{{"name", std::string("bl\xe9")}}}}};
      if (cmd == "throw_int") throw 7;
      throw std::invalid_argument("unknown command");
    };
  }

  void start(ControlAccess access = {}) {
    server_ = std::make_unique<ControlServer>(sock_, handler(), access, limits_);
  }

  fs::path dir_;
  std::string sock_;
  ControlLimits limits_;
  std::atomic<int> handled_{0};
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, InvalidUtf8RequestGetsAValidJsonErrorAndTheServerGoesOn) {
  start();
  const int fd = connect_to(sock_);
  ASSERT_GE(fd, 0);
  send_raw(fd, frame("{\"cmd\":\"p\xe9\"}"));
  const json r = read_reply(fd);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(call(fd, {{"cmd", "ping"}})["ok"], true) << "same connection still served";
  ::close(fd);
}

TEST_F(ControlServerTest, RepliesWithInvalidUtf8AreRepairedNotFatal) {
  start();
  const int fd = connect_to(sock_);
  const json r = call(fd, {{"cmd", "latin1"}});
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["levels"][0]["name"], "bl\xef\xbf\xbd") << "the Latin-1 byte becomes U+FFFD";
  const json t = call(fd, {{"cmd", "throw_int"}});
  EXPECT_EQ(t["ok"], false) << "a non-std exception is an error reply";
  EXPECT_EQ(call(fd, {{"cmd", "ping"}})["ok"], true);
  ::close(fd);
}

TEST_F(ControlServerTest, DispatchNeverThrowsAndRefusesOversizedReplies) {
  const auto h = handler();
  for (const std::string body : {"", "null", "[1]", "{\"cmd\":1}", "{\"cmd\":\"\xff\"}",
                                 "{\"cmd\":\"latin1\"}", "{\"cmd\":\"throw_int\"}"}) {
    const json r = json::parse(dispatch_request(h, body, -1, proto::kMaxMessage));
    EXPECT_TRUE(r.contains("ok")) << body;
  }
  const std::string big =
      dispatch_request(h, R"({"cmd":"big","size":2000000})", -1, proto::kMaxMessage);
  ASSERT_LE(big.size(), proto::kMaxMessage);
  const json r = json::parse(big);
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("exceeds"), std::string::npos);
}

TEST_F(ControlServerTest, HalfAHeaderStallsNobodyAndIsDroppedAtItsTimeLimit) {
  start();
  const int stalled = connect_to(sock_);
  ASSERT_GE(stalled, 0);
  send_raw(stalled, std::string("\0\0", 2));  // half a length, then nothing
  const int other = connect_to(sock_);
  EXPECT_EQ(call(other, {{"cmd", "ping"}})["ok"], true) << "another client is served";
  // The stalled client gets an error and the connection ends (after the 300 ms limit).
  const json r = read_reply(stalled);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["ok"], false);
  EXPECT_TRUE(closed_by_peer(stalled));
  EXPECT_EQ(server_->counters().timeouts.load(), 1u);
  EXPECT_EQ(call(other, {{"cmd", "ping"}})["ok"], true);
  ::close(stalled);
  ::close(other);
}

TEST_F(ControlServerTest, AClientThatNeverReadsIsDroppedAndStallsNobody) {
  start();
  const int hog = connect_to(sock_);
  int small = 4096;
  ::setsockopt(hog, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // Requests whose replies (about 1 MB each) it never reads.
  for (int i = 0; i < 4; ++i) send_raw(hog, frame(R"({"cmd":"big","size":1000000})"));
  const int other = connect_to(sock_);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(other, {{"cmd", "ping"}})["ok"], true);
  // The hog is cut off once its reply has waited past the limit (it reads nothing until then).
  while (server_->counters().timeouts.load() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(closed_by_peer(hog));
  EXPECT_EQ(server_->counters().requests.load(), 6u) << "one of the hog's, five pings";
  ::close(hog);
  ::close(other);
}

TEST_F(ControlServerTest, OversizedRequestIsRefusedWithoutReadingIt) {
  start();
  const int fd = connect_to(sock_);
  send_raw(fd, std::string("\x00\x20\x00\x00", 4));  // 2 MiB announced
  const json r = read_reply(fd);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("exceeds"), std::string::npos);
  EXPECT_TRUE(closed_by_peer(fd));
  EXPECT_EQ(server_->counters().oversized.load(), 1u);
  EXPECT_EQ(handled_.load(), 0);
  ::close(fd);
}

TEST_F(ControlServerTest, ConcurrentClientsAreAllServedWhileOthersStall) {
  limits_.request_timeout = std::chrono::milliseconds(60000);  // the stalled ones stay
  start();
  std::vector<int> stalled;
  for (int i = 0; i < 4; ++i) {
    stalled.push_back(connect_to(sock_));
    send_raw(stalled.back(), std::string("\0\0\0\x10{\"cmd\"", 10));  // a partial request
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      const int fd = connect_to(sock_);
      for (int i = 0; i < 50; ++i)
        if (call(fd, {{"cmd", "ping"}}).value("ok", false)) ++ok;
      ::close(fd);
    });
  for (auto &t : threads) t.join();
  EXPECT_EQ(ok.load(), 300);
  for (int fd : stalled) ::close(fd);
}

TEST_F(ControlServerTest, StopsWithAStalledClientConnected) {
  limits_.request_timeout = std::chrono::milliseconds(3600000);
  limits_.idle_timeout = std::chrono::milliseconds(3600000);
  start();
  const int stalled = connect_to(sock_);
  send_raw(stalled, std::string("\0\0", 2));
  const int idle = connect_to(sock_);
  EXPECT_EQ(call(idle, {{"cmd", "ping"}})["ok"], true);
  server_.reset();  // returns (the old server blocked here reading the stalled client)
  EXPECT_TRUE(closed_by_peer(stalled));
  EXPECT_FALSE(fs::exists(sock_)) << "its own socket is removed";
  ::close(stalled);
  ::close(idle);
}

TEST_F(ControlServerTest, TooManyClientsAreToldSo) {
  limits_.max_clients = 2;
  start();
  const int a = connect_to(sock_), b = connect_to(sock_);
  EXPECT_EQ(call(a, {{"cmd", "ping"}})["ok"], true);
  EXPECT_EQ(call(b, {{"cmd", "ping"}})["ok"], true);
  const int c = connect_to(sock_);
  const json r = read_reply(c);
  ASSERT_TRUE(r.is_object());
  EXPECT_NE(r["error"].get<std::string>().find("too many"), std::string::npos);
  ::close(a);
  ::close(b);
  ::close(c);
}

TEST_F(ControlServerTest, AFileTravelsWithItsRequest) {
  start();
  const std::string p = (dir_ / "f.txt").string();
  std::ofstream(p) << "hello";
  const int file = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  const int fd = connect_to(sock_);
  const std::string f = frame(R"({"cmd":"file"})");
  iovec iov{const_cast<char *>(f.data()), f.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  cmsghdr *h = CMSG_FIRSTHDR(&msg);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(h), &file, sizeof file);
  ASSERT_EQ(::sendmsg(fd, &msg, 0), static_cast<ssize_t>(f.size()));
  const json r = read_reply(fd);
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["size"], 5);
  // No file with the next request: the handler sees none (an error here).
  EXPECT_EQ(call(fd, {{"cmd", "file"}})["ok"], false);
  ::close(file);
  ::close(fd);
}

// --- ownership of the socket path ---

TEST_F(ControlServerTest, ModeAndGroupAreExplicitNotFromTheUmask) {
  const mode_t old = ::umask(0);
  start();
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::lstat(sock_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "default 0600 even at umask 000";
  server_.reset();
  ControlAccess a;
  a.mode = 0660;
  a.group = 4242;
  start(a);
  ASSERT_EQ(::lstat(sock_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_gid, 4242u);
  }
}

TEST_F(ControlServerTest, ASecondServerOnALiveSocketIsRefusedAndTheFirstKeepsIt) {
  start();
  EXPECT_THROW(ControlServer(sock_, handler(), {}, limits_), std::runtime_error);
  const int fd = connect_to(sock_);
  EXPECT_EQ(call(fd, {{"cmd", "ping"}})["ok"], true) << "the first still owns the socket";
  ::close(fd);
}

TEST_F(ControlServerTest, ARegularFileAtThePathIsLeftIntact) {
  std::ofstream(sock_) << "precious";
  EXPECT_THROW(start(), std::runtime_error);
  std::ifstream in(sock_);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
}

TEST_F(ControlServerTest, AStaleSocketIsReplaced) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock_.c_str(), sizeof(a.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  ::close(fd);  // a socket file nobody listens on
  start();
  const int c = connect_to(sock_);
  EXPECT_EQ(call(c, {{"cmd", "ping"}})["ok"], true);
  ::close(c);
}

TEST_F(ControlServerTest, NeverUnlinksASocketItDidNotCreate) {
  start();
  // Someone else's socket now sits at the path (ours was removed by hand).
  ASSERT_EQ(::unlink(sock_.c_str()), 0);
  const int other = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock_.c_str(), sizeof(a.sun_path) - 1);
  ASSERT_EQ(::bind(other, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
  server_.reset();
  EXPECT_TRUE(fs::exists(fs::symlink_status(sock_))) << "the other socket survives our exit";
  ::close(other);
}

// Forks a child that drops to uid 65534 (and optionally gid `gid`), connects and pings; returns
// the child's exit status: 0 = answered ok, 1 = refused with "permission denied", 2 = other.
int ping_as_nobody(const std::string &sock, gid_t gid) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0)
      ::_exit(3);
    const int fd = connect_to(sock);
    if (fd < 0) ::_exit(4);
    const std::string f = frame(R"({"cmd":"ping"})");
    proto::write_all(fd, f.data(), f.size());  // may fail: the refusal is read below
    std::string body;
    if (proto::read_frame(fd, body) != proto::ReadStatus::kOk) ::_exit(6);
    if (body.find("\"ok\":true") != std::string::npos) ::_exit(0);
    ::_exit(body.find("permission denied") != std::string::npos ? 1 : 2);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

TEST_F(ControlServerTest, UnprivilegedPeerIsRefusedAndCounted) {
  SLUICE_REQUIRE_PRIVILEGED();
  ::chmod(dir_.c_str(), 0755);
  ControlAccess a;
  a.mode = 0666;  // as careless as it gets: the file lets anyone connect
  start(a);
  EXPECT_EQ(ping_as_nobody(sock_, 65534), 1);
  EXPECT_EQ(server_->counters().refused.load(), 1u);
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(ControlServerTest, AMemberOfTheControlGroupIsServed) {
  SLUICE_REQUIRE_PRIVILEGED();
  ::chmod(dir_.c_str(), 0755);
  ControlAccess a;
  a.mode = 0660;
  a.group = 4243;
  start(a);
  EXPECT_EQ(ping_as_nobody(sock_, 4243), 0);
  EXPECT_EQ(ping_as_nobody(sock_, 65534), 4) << "not in the group: the file mode stops it";
  EXPECT_EQ(server_->counters().refused.load(), 0u);
}

// --- files sent by clients ---

TEST(BoundedFile, RefusesFifosDevicesAndOversizedFilesWithoutBlocking) {
  const fs::path dir = fs::temp_directory_path() / ("sluice_bf_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  {
    UniqueFd f = open_for_reading(fifo);  // O_NONBLOCK: does not wait for a writer
    EXPECT_THROW(read_bounded(f.get(), "fifo", 100), FileError);
  }
  {
    UniqueFd z = open_for_reading("/dev/zero");
    try {
      read_bounded(z.get(), "/dev/zero", 1 << 20);
      ADD_FAILURE() << "/dev/zero read";
    } catch (const FileError &e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos);
    }
  }
  const std::string big = (dir / "big").string();
  std::ofstream(big) << std::string(2000, 'x');
  {
    UniqueFd b = open_for_reading(big);
    EXPECT_THROW(read_bounded(b.get(), "big", 1000), FileError);
    EXPECT_EQ(read_bounded(b.get(), "big", 2000).size(), 2000u);
  }
  fs::remove_all(dir);
}

TEST(BoundedFile, TheSealedCopyDoesNotChangeWhenTheFileIsRewrittenInPlace) {
  const fs::path dir = fs::temp_directory_path() / ("sluice_bf2_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string p = (dir / "t").string();
  std::ofstream(p) << std::string(100000, 'a');
  UniqueFd copy;
  {
    UniqueFd f = open_for_reading(p);
    copy = copy_to_sealed_memfd(f.get(), "t", 1 << 20);
  }
  std::ofstream(p, std::ios::trunc) << "b";  // cp over it: truncated and rewritten in place
  EXPECT_EQ(read_bounded(copy.get(), "copy", 1 << 20), std::string(100000, 'a'));
  EXPECT_LT(::ftruncate(copy.get(), 10), 0) << "sealed: nobody can shrink it";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::dataplane
