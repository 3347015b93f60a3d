// The dynamic entries' store: persistence, latest-wins, undo, expiry, the table contribution, and
// every bad input the state directory can hold (damaged files, foreign or newer databases, an
// unwritable directory, a second owner, clock jumps).
#include "store.h"

#include <fcntl.h>
#include <grp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>

#include "sluice/reputation/compile.h"

namespace sluice::sluiced {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
namespace rep = sluice::reputation;

constexpr int64_t kNow = 1'800'000'000;  // the injected wall clock

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("sluice-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    ::chmod(root_.c_str(), 0755);
    opts_.state_dir = (root_ / "state").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<DynamicStore> open(int64_t now = kNow, OpenReport *r = nullptr) {
    return DynamicStore::open(opts_, now, r);
  }
  std::string db() const { return opts_.state_dir + "/dynamic.db"; }

  static DynamicEntry entry(const char *prefix, Action a, int32_t score = 0,
                            std::optional<int64_t> expires = std::nullopt,
                            const char *reason = "test") {
    DynamicEntry e;
    e.prefix = parse_prefix(prefix);
    e.action = a;
    e.score = score;
    e.created = kNow;
    e.expires = expires;
    e.reason = reason;
    e.origin = "store_test";
    return e;
  }
  static std::vector<std::string> keys(const std::vector<DynamicEntry> &v) {
    std::vector<std::string> out;
    for (const auto &e : v) out.push_back(format_prefix(e.prefix));
    return out;
  }
  static rep::IpAddress ip(const char *t) { return *rep::parse_ip(t); }

  // Runs SQL on the database directly, as a damaged or foreign file would have it.
  void raw_sql(const std::string &path, const char *sql) {
    sqlite3 *d = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &d), SQLITE_OK);
    char *err = nullptr;
    int rc = sqlite3_exec(d, sql, nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(d);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }
  static std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static void write_file(const std::string &path, const std::string &bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  fs::path root_;
  StoreOptions opts_;
};

std::string open_refusal(auto fn) {
  try {
    fn();
  } catch (const StoreError &e) {
    return e.what();
  }
  return "(opened)";
}

// Runs `fn` in a child process as an unprivileged user (nobody) when we are root, so that file
// permissions apply; returns what the child reports.
std::string as_nobody(const std::function<std::string()> &fn) {
  int p[2];
  if (::pipe(p) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    if (::geteuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0))
      out = "cannot drop privileges";
    else
      out = fn();
    ssize_t w = ::write(p[1], out.data(), out.size());
    (void)w;
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

TEST_F(StoreTest, EntriesSurviveClosingAndReopening) {
  {
    auto s = open();
    s->set(entry("198.18.0.1", Action::kDeny, 0, kNow + 3600, "fail2ban sshd"));
    s->set(entry("198.18.1.0/24", Action::kScore, 7));
    s->set(entry("2001:2::/48", Action::kAllow));
  }
  auto s = open();
  auto all = s->list();
  EXPECT_THAT(keys(all), ::testing::ElementsAre("198.18.0.1/32", "198.18.1.0/24", "2001:2::/48"));
  EXPECT_EQ(all[0], entry("198.18.0.1", Action::kDeny, 0, kNow + 3600, "fail2ban sshd"));
  EXPECT_EQ(all[1].score, 7);
  EXPECT_EQ(all[2].action, Action::kAllow);
  EXPECT_FALSE(all[2].expires);
}

TEST_F(StoreTest, TheDatabaseIsInWalModeWithItsSchemaVersion) {
  open();
  sqlite3 *d = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &d), SQLITE_OK);
  auto one = [&](const char *sql) {
    sqlite3_stmt *st = nullptr;
    sqlite3_prepare_v2(d, sql, -1, &st, nullptr);
    sqlite3_step(st);
    std::string v = reinterpret_cast<const char *>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
  };
  EXPECT_EQ(one("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(one("PRAGMA user_version"), std::to_string(kStoreSchemaVersion));
  sqlite3_close(d);
}

TEST_F(StoreTest, SettingAPrefixAgainReplacesItsEntry) {
  auto s = open();
  EXPECT_FALSE(s->set(entry("198.18.1.0/24", Action::kScore, 5)));
  auto replaced = s->set(entry("198.18.1.0/24", Action::kDeny, 0, kNow + 60, "escalated"));
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->score, 5);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ(s->list()[0].action, Action::kDeny);
  EXPECT_EQ(s->next_expiry(), kNow + 60);
  // The replaced entry's expiry is gone with it.
  s->set(entry("198.18.1.0/24", Action::kScore, 1));
  EXPECT_FALSE(s->next_expiry());
  s.reset();
  EXPECT_EQ(open()->list()[0].score, 1);
}

TEST_F(StoreTest, UnsetRemovesExactlyThatPrefix) {
  auto s = open();
  s->set(entry("198.18.1.0/24", Action::kScore, 5));
  s->set(entry("198.18.1.1", Action::kScore, 9));
  EXPECT_FALSE(s->unset(parse_prefix("198.18.1.0/25")));
  auto gone = s->unset(parse_prefix("198.18.1.0/24"));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->score, 5);
  EXPECT_THAT(keys(s->list()), ::testing::ElementsAre("198.18.1.1/32"));
  s.reset();
  EXPECT_EQ(open()->size(), 1u);
}

TEST_F(StoreTest, ClearRemovesEveryPenaltyCoveringTheAddressAndNothingElse) {
  auto s = open();
  s->set(entry("198.18.0.0/16", Action::kDeny));
  s->set(entry("198.18.1.0/24", Action::kScore, 5));
  s->set(entry("198.18.1.7", Action::kScore, -3));    // vouches: not a penalty
  s->set(entry("198.18.1.0/25", Action::kAllow));     // not a penalty
  s->set(entry("198.18.2.0/24", Action::kScore, 4));  // does not cover the address
  s->set(entry("2001:2::/48", Action::kDeny));        // the other family
  auto gone = s->clear(ip("198.18.1.7"));
  EXPECT_THAT(keys(gone), ::testing::UnorderedElementsAre("198.18.0.0/16", "198.18.1.0/24"));
  EXPECT_THAT(keys(s->list()), ::testing::ElementsAre("198.18.1.0/25", "198.18.1.7/32",
                                                      "198.18.2.0/24", "2001:2::/48"));
  EXPECT_TRUE(s->clear(ip("198.18.1.7")).empty());
  s.reset();
  EXPECT_EQ(open()->size(), 4u);
}

TEST_F(StoreTest, ExpireRemovesWhatIsDueAndNextExpiryFollows) {
  auto s = open();
  s->set(entry("198.18.0.1", Action::kDeny, 0, kNow + 10));
  s->set(entry("198.18.0.2", Action::kDeny, 0, kNow + 20));
  s->set(entry("198.18.0.3", Action::kDeny));
  EXPECT_EQ(s->next_expiry(), kNow + 10);
  EXPECT_TRUE(s->expire(kNow + 9).empty());
  const uint64_t g = s->generation();
  EXPECT_THAT(keys(s->expire(kNow + 10)), ::testing::ElementsAre("198.18.0.1/32"));
  EXPECT_GT(s->generation(), g);
  EXPECT_EQ(s->next_expiry(), kNow + 20);
  EXPECT_THAT(keys(s->expire(kNow + 1000)), ::testing::ElementsAre("198.18.0.2/32"));
  EXPECT_FALSE(s->next_expiry());
  s.reset();
  EXPECT_THAT(keys(open(kNow + 1000)->list()), ::testing::ElementsAre("198.18.0.3/32"));
}

TEST_F(StoreTest, AnEntryThatExpiredWhileClosedIsRemovedAtOpenAndReported) {
  {
    auto s = open();
    s->set(entry("198.18.0.1", Action::kDeny, 0, kNow + 10));
    s->set(entry("198.18.0.2", Action::kDeny, 0, kNow + 100));
  }
  OpenReport r;
  auto s = open(kNow + 50, &r);
  EXPECT_THAT(keys(r.expired), ::testing::ElementsAre("198.18.0.1/32"));
  EXPECT_THAT(r.notices, ::testing::Contains(HasSubstr("1 dynamic entries expired")));
  EXPECT_THAT(keys(s->list()), ::testing::ElementsAre("198.18.0.2/32"));
  s.reset();
  EXPECT_EQ(open(kNow + 50)->size(), 1u);  // removed from the file, not only from memory
}

TEST_F(StoreTest, ExpiriesAreAbsoluteWhenTheWallClockJumps) {
  auto s = open();
  s->set(entry("198.18.0.1", Action::kDeny, 0, kNow + 3600));
  // The clock is set back an hour: nothing expires early, the entry lasts until its time.
  EXPECT_TRUE(s->expire(kNow - 3600).empty());
  EXPECT_EQ(s->next_expiry(), kNow + 3600);
  EXPECT_EQ(s->covering(ip("198.18.0.1"), kNow - 3600).size(), 1u);
  // Set forward past the expiry: it expires at once, and the contribution leaves it out even
  // before expire() runs.
  EXPECT_TRUE(s->contribution(kNow + 7200).v4.empty());
  EXPECT_TRUE(s->covering(ip("198.18.0.1"), kNow + 7200).empty());
  EXPECT_EQ(s->expire(kNow + 7200).size(), 1u);
  // Back again: what expired stays expired.
  EXPECT_EQ(s->size(), 0u);
  EXPECT_TRUE(s->expire(kNow).empty());
}

TEST_F(StoreTest, CoveringListsTheEntriesOfAnAddressMostSpecificFirst) {
  auto s = open();
  s->set(entry("198.18.0.0/16", Action::kDeny));
  s->set(entry("198.18.1.0/24", Action::kScore, 5, kNow + 60));
  s->set(entry("198.18.1.7", Action::kAllow));
  EXPECT_THAT(keys(s->covering(ip("198.18.1.7"), kNow)),
              ::testing::ElementsAre("198.18.1.7/32", "198.18.1.0/24", "198.18.0.0/16"));
  EXPECT_THAT(keys(s->covering(ip("198.18.1.7"), kNow + 60)),
              ::testing::ElementsAre("198.18.1.7/32", "198.18.0.0/16"));
  EXPECT_TRUE(s->covering(ip("198.19.0.1"), kNow).empty());
}

TEST_F(StoreTest, TheContributionCompilesAsOneSourceWhoseMostSpecificEntryDecides) {
  auto s = open();
  s->set(entry("198.18.0.0/16", Action::kDeny));
  s->set(entry("198.18.1.0/24", Action::kScore, 5));
  s->set(entry("198.18.1.7", Action::kAllow));
  s->set(entry("198.18.2.0/24", Action::kScore, 4, kNow + 10));
  s->set(entry("2001:2::1", Action::kScore, -2));
  rep::SourceConfig list;
  list.name = "drop";
  list.weight = 10;
  std::vector<rep::SourceConfig> cfgs{list, DynamicStore::source_config()};
  std::vector<rep::ParsedSource> parsed;
  parsed.push_back(rep::parse_source_text(list, "198.18.0.0/15\n2001:2::/48\n", "drop", 0));
  parsed.push_back(s->contribution(kNow, 1));
  auto value = [](const rep::Snapshot &t, const char *a) {
    auto x = *rep::parse_ip(a);
    if (x.family == 4) return t.lookup_v4(sl_htonl(x.v4)).value_or(sl_rep_value{0, 0});
    uint8_t b[16];
    rep::v6_to_bytes(x.v6, b);
    return t.lookup_v6(b).value_or(sl_rep_value{0, 0});
  };
  rep::Snapshot t = rep::compile(parsed, cfgs);
  EXPECT_EQ(value(t, "198.18.0.1").flags, SL_REP_DENY);
  EXPECT_EQ(value(t, "198.18.0.1").score, 10);
  EXPECT_EQ(value(t, "198.18.1.1").flags, 0u);  // the /24 decides: +5, not the /16's deny
  EXPECT_EQ(value(t, "198.18.1.1").score, 15);
  EXPECT_EQ(value(t, "198.18.1.7").flags, SL_REP_ALLOW);
  EXPECT_EQ(value(t, "198.18.2.1").score, 14);
  EXPECT_EQ(value(t, "198.19.0.1").flags, 0u);
  EXPECT_EQ(value(t, "2001:2::1").score, 8);
  // Once the /24 with a ttl has expired it is left out.
  parsed[1] = s->contribution(kNow + 10, 1);
  rep::Snapshot later = rep::compile(parsed, cfgs);
  EXPECT_EQ(value(later, "198.18.2.1").flags, SL_REP_DENY);
  EXPECT_EQ(value(later, "198.18.2.1").score, 10);
}

TEST_F(StoreTest, SetRefusesWhatOpenWouldRefuseAndChangesNothing) {
  auto s = open();
  auto bad_reason = entry("198.18.0.1", Action::kDeny);
  bad_reason.reason = "evil\n\x1b[2J";
  EXPECT_THROW(s->set(bad_reason), EntryError);
  auto scored_allow = entry("198.18.0.1", Action::kAllow);
  scored_allow.score = 4;
  EXPECT_THROW(s->set(scored_allow), EntryError);
  auto host_bits = entry("198.18.0.0/24", Action::kDeny);
  host_bits.prefix.addr |= 1;
  EXPECT_THROW(s->set(host_bits), EntryError);
  EXPECT_EQ(s->size(), 0u);
  s.reset();
  EXPECT_EQ(open()->size(), 0u);
}

TEST_F(StoreTest, AnEntrySurvivesAKill9RightAfterSetReturns) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    auto s = open();
    s->set(entry("198.18.9.9", Action::kDeny, 0, kNow + 600, "kill -9"));
    ssize_t w = ::write(p[1], "k", 1);
    (void)w;
    ::pause();  // killed here, with the store open
    ::_exit(1);
  }
  ::close(p[1]);
  char c;
  ASSERT_EQ(::read(p[0], &c, 1), 1);
  ::close(p[0]);
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto s = open();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ(s->list()[0].reason, "kill -9");
}

// ---- bad input in the state directory ----

TEST_F(StoreTest, AFileThatIsNotADatabaseIsMovedAsideNotOverwritten) {
  fs::create_directories(opts_.state_dir);
  const std::string junk = "this is not an SQLite database\n" + std::string(5000, 'x');
  write_file(db(), junk);
  OpenReport r;
  auto s = open(kNow, &r);
  ASSERT_TRUE(r.set_aside);
  EXPECT_EQ(*r.set_aside, db() + ".corrupt-20270115T080000Z");
  EXPECT_EQ(slurp(*r.set_aside), junk);  // kept byte for byte
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_THAT(r.notices[0], HasSubstr("damaged"));
  EXPECT_THAT(r.notices[0], HasSubstr("moved aside to " + *r.set_aside));
  // A working, empty store in its place.
  EXPECT_EQ(s->size(), 0u);
  s->set(entry("198.18.0.1", Action::kDeny));
  s.reset();
  EXPECT_EQ(open()->size(), 1u);
}

TEST_F(StoreTest, ADamagedPageIsFoundByTheIntegrityCheckAndMovedAside) {
  {
    auto s = open();
    for (int i = 0; i < 400; ++i) {
      std::string reason(200, static_cast<char>('a' + i % 26));
      s->set(entry(("198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250)).c_str(),
                   Action::kScore, i, std::nullopt, reason.c_str()));
    }
  }
  raw_sql(db(), "PRAGMA wal_checkpoint(TRUNCATE)");
  std::string bytes = slurp(db());
  ASSERT_GT(bytes.size(), 3u * 4096);
  for (size_t i = 2 * 4096 + 100; i < 2 * 4096 + 400; ++i) bytes[i] = '\xa5';  // page 3
  write_file(db(), bytes);
  OpenReport r;
  auto s = open(kNow, &r);
  ASSERT_TRUE(r.set_aside);
  EXPECT_EQ(slurp(*r.set_aside), bytes);
  EXPECT_EQ(s->size(), 0u);
}

TEST_F(StoreTest, ARowThatDoesNotParseMakesTheFileDamaged) {
  open()->set(entry("198.18.0.1", Action::kDeny));
  for (const char *sql :
       {"UPDATE dynamic_entries SET prefix = '198.18.0.1/24'",  // host bits
        "UPDATE dynamic_entries SET action = 'block'",
        "UPDATE dynamic_entries SET score = 5",                        // a score on a deny
        "UPDATE dynamic_entries SET reason = 'a' || char(10) || 'b'",  // a control character
        "UPDATE dynamic_entries SET expires = 'soon'",
        "UPDATE dynamic_entries SET prefix = '198.018.0.1/32'"}) {
    SCOPED_TRACE(sql);
    fs::remove_all(opts_.state_dir);
    open()->set(entry("198.18.0.1", Action::kDeny));
    raw_sql(db(), sql);
    OpenReport r;
    auto s = open(kNow, &r);
    ASSERT_TRUE(r.set_aside);
    EXPECT_THAT(r.notices[0], HasSubstr("entry "));
    EXPECT_EQ(s->size(), 0u);
  }
}

TEST_F(StoreTest, TwoDamagedFilesInOneSecondKeepBoth) {
  fs::create_directories(opts_.state_dir);
  write_file(db(), std::string(100, 'a'));
  OpenReport r1, r2;
  open(kNow, &r1);
  write_file(db(), std::string(100, 'b'));
  open(kNow, &r2);
  ASSERT_TRUE(r1.set_aside && r2.set_aside);
  EXPECT_NE(*r1.set_aside, *r2.set_aside);
  EXPECT_EQ(slurp(*r1.set_aside), std::string(100, 'a'));
  EXPECT_EQ(slurp(*r2.set_aside), std::string(100, 'b'));
}

TEST_F(StoreTest, AnotherProgramsDatabaseIsRefusedAndLeftUntouched) {
  fs::create_directories(opts_.state_dir);
  raw_sql(db(), "CREATE TABLE mail(id INTEGER); INSERT INTO mail VALUES (1)");
  const std::string before = slurp(db());
  EXPECT_THAT(open_refusal([&] { open(); }), HasSubstr("an SQLite database of something else"));
  EXPECT_EQ(slurp(db()), before);
  EXPECT_FALSE(fs::exists(db() + ".corrupt-20270115T080000Z"));
}

TEST_F(StoreTest, ADatabaseOfANewerSchemaIsRefusedAndLeftUntouched) {
  open()->set(entry("198.18.0.1", Action::kDeny));
  raw_sql(db(), "PRAGMA user_version = 99");
  EXPECT_THAT(open_refusal([&] { open(); }), HasSubstr("written by a newer sluiced (schema 99"));
  raw_sql(db(), "PRAGMA user_version = 1");
  EXPECT_EQ(open()->size(), 1u);
}

TEST_F(StoreTest, AnEmptyFileBecomesAStore) {
  fs::create_directories(opts_.state_dir);
  write_file(db(), "");
  OpenReport r;
  auto s = open(kNow, &r);
  EXPECT_FALSE(r.set_aside);
  s->set(entry("198.18.0.1", Action::kDeny));
  s.reset();
  EXPECT_EQ(open()->size(), 1u);
}

TEST_F(StoreTest, AMissingStateDirectoryIsMade) {
  opts_.state_dir = (root_ / "a" / "b" / "state").string();
  open()->set(entry("198.18.0.1", Action::kDeny));
  EXPECT_TRUE(fs::exists(db()));
}

TEST_F(StoreTest, AStateDirectoryThatIsAFileIsRefused) {
  write_file(opts_.state_dir, "x");
  EXPECT_THAT(open_refusal([&] { open(); }), HasSubstr("not a directory"));
}

TEST_F(StoreTest, AnUnwritableStateDirectoryIsRefusedClearly) {
  fs::create_directories(opts_.state_dir);
  ::chmod(opts_.state_dir.c_str(), 0755);  // root's; nobody cannot write it
  std::string msg = as_nobody([&] { return open_refusal([&] { open(); }); });
  EXPECT_THAT(msg, HasSubstr(opts_.state_dir));
  EXPECT_THAT(msg, HasSubstr("not writable"));
  EXPECT_THAT(msg, HasSubstr("Permission denied"));
}

TEST_F(StoreTest, AnUnwritableDatabaseFileIsRefusedClearly) {
  open()->set(entry("198.18.0.1", Action::kDeny));
  ::chown(opts_.state_dir.c_str(), 65534, 65534);  // the directory is nobody's, the file root's
  ::chmod(db().c_str(), 0644);
  for (const char *f : {"-wal", "-shm"}) fs::remove(db() + f);
  ::chown((db() + ".lock").c_str(), 65534, 65534);
  std::string msg = as_nobody([&] { return open_refusal([&] { open(); }); });
  EXPECT_THAT(msg, HasSubstr(db()));
  EXPECT_THAT(msg, HasSubstr("read-only"));
}

TEST_F(StoreTest, ASecondOwnerIsRefusedWhileTheFirstHoldsTheStore) {
  auto first = open();
  std::string msg = open_refusal([&] { open(); });
  EXPECT_THAT(msg, HasSubstr("in use by pid " + std::to_string(::getpid())));
  EXPECT_THAT(msg, HasSubstr("another sluiced"));
  first.reset();
  EXPECT_NO_THROW(open());
}

TEST_F(StoreTest, ASecondDaemonProcessIsRefused) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    auto s = open();
    ssize_t w = ::write(p[1], "k", 1);
    (void)w;
    ::pause();
    ::_exit(1);
  }
  ::close(p[1]);
  char c;
  ASSERT_EQ(::read(p[0], &c, 1), 1);
  ::close(p[0]);
  std::string msg = open_refusal([&] { open(); });
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  EXPECT_THAT(msg, HasSubstr("in use by pid " + std::to_string(pid)));
  // The lock dies with its holder: the next daemon starts.
  EXPECT_NO_THROW(open());
}

}  // namespace
}  // namespace sluice::sluiced
