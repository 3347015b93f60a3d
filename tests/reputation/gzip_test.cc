// gzip-compressed lists: read transparently (by magic, not name), every member, and every way a
// download goes wrong refused with its own SourceError kind: a bomb past max_size, a truncated
// stream, a corrupt one, an empty list. Never a partial or silently empty list.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gzip_util.h"
#include "sluice/reputation/compile.h"
#include "sluice/reputation/explain.h"
#include "sluice/reputation/sources_file.h"
#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Kind = SourceError::Kind;

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class GzipSource : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-gzip-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string &name, const std::string &bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return (dir_ / name).string();
  }
  SourceConfig cfg(SourceType t, const std::string &path) {
    SourceConfig c = config(t);
    c.path = path;
    return c;
  }
  // The kind of SourceError parse_source throws, with its message.
  std::pair<std::optional<Kind>, std::string> failure(const SourceConfig &c) {
    try {
      parse_source(c);
    } catch (const SourceError &e) {
      return {e.kind(), e.what()};
    }
    return {std::nullopt, ""};
  }
  fs::path dir_;
};

const std::string kZen = slurp(fs::path(SLUICE_REP_TEST_DATA) / "zen.zone");

TEST_F(GzipSource, AGzippedZoneParsesAsThePlainOneWhateverItsName) {
  // The regression: a gzipped zone used to parse as a few malformed lines and list nothing.
  const std::string path = write("zen.zone", gzip(kZen));
  auto c = cfg(SourceType::kRbldnsdIp4set, path);
  ParsedSource gz = parse_source(c);
  ParsedSource plain = parse_source_text(c, kZen, path);
  EXPECT_TRUE(gz.gzip);
  EXPECT_FALSE(plain.gzip);
  EXPECT_EQ(gz.malformed(), 0u) << ::testing::PrintToString(gz.problems);
  EXPECT_GT(gz.listed(), 5u);
  EXPECT_EQ(rendered(gz), rendered(plain));
  EXPECT_EQ(gz.lines, plain.lines);
}

TEST_F(GzipSource, EveryFormatReadsGzip) {
  for (auto [type, file] :
       {std::pair{SourceType::kDrop, "drop.txt"}, std::pair{SourceType::kDropJson, "drop_v6.json"},
        std::pair{SourceType::kList, "local.txt"},
        std::pair{SourceType::kRbldnsdIp6trie, "zen6.zone"}}) {
    const std::string text = slurp(fs::path(SLUICE_REP_TEST_DATA) / file);
    auto c = cfg(type, write(std::string(file) + ".gz", gzip(text, 9)));
    EXPECT_EQ(rendered(parse_source(c)), rendered(parse_source_text(c, text, c.path))) << file;
  }
}

TEST_F(GzipSource, ConcatenatedMembersReadAsGzipReadsThem) {
  auto c = cfg(SourceType::kRbldnsdIp4set,
               write("two", gzip("1.2.3.4\n1.2.3.5 :4\n") + gzip("") + gzip("1.2.3.6\n")));
  EXPECT_THAT(
      rendered(parse_source(c)),
      ::testing::ElementsAre("1.2.3.4/32 w=1 c=2", "1.2.3.5/32 w=1 c=4", "1.2.3.6/32 w=1 c=2"));
}

TEST_F(GzipSource, ATruncatedStreamIsRefusedAtEveryCut) {
  const std::string gz = gzip(kZen);
  for (size_t cut = 2; cut < gz.size(); ++cut) {
    auto c = cfg(SourceType::kRbldnsdIp4set, write("zen.zone.gz", gz.substr(0, cut)));
    auto [kind, what] = failure(c);
    ASSERT_EQ(kind, Kind::kTruncated) << "cut at " << cut << " of " << gz.size() << ": " << what;
    EXPECT_EQ(what, c.path + ": truncated gzip stream");
  }
  // A second member cut short is as truncated as the first.
  auto c = cfg(SourceType::kRbldnsdIp4set, write("two.gz", gz + gzip("1.2.3.4\n").substr(0, 15)));
  EXPECT_EQ(failure(c).first, Kind::kTruncated);
}

TEST_F(GzipSource, ADecompressionBombStopsAtTheLimitAndSaysWhichLimit) {
  // 4 MiB of one comment line: ~4 KiB gzipped (a real bomb is the same, only larger).
  const std::string bomb = gzip("#" + std::string((size_t{4} << 20) - 2, 'x') + "\n", 9);
  auto c = cfg(SourceType::kRbldnsdIp4set, write("bomb", bomb));
  c.name = "zen";
  c.max_size = uint64_t{1} << 20;
  auto [kind, what] = failure(c);
  EXPECT_EQ(kind, Kind::kTooLarge);
  EXPECT_EQ(what,
            c.path + ": more than 1 MiB after decompression (the max_size limit of source 'zen')");
  c.max_size = uint64_t{8} << 20;  // a generous limit lets the same file through
  EXPECT_EQ(failure(c).first, Kind::kEmpty);
  EXPECT_EQ(kDefaultMaxSize, uint64_t{1} << 30);
}

TEST_F(GzipSource, APlainFileOverTheLimitIsRefusedAsStored) {
  // Built by append: GCC 12 at -O3 misreads `std::string(2000, '#') + "..."` as a memcpy past
  // a 32-byte object (-Warray-bounds, a false positive).
  std::string big(2000, '#');
  big += "\n192.0.2.1\n";
  auto c = cfg(SourceType::kList, write("big", big));
  c.max_size = 1000;
  auto [kind, what] = failure(c);
  EXPECT_EQ(kind, Kind::kTooLarge);
  EXPECT_THAT(what, HasSubstr("more than 1000 bytes as stored (the max_size limit of source"));
}

TEST_F(GzipSource, AnEmptyListIsItsOwnErrorNotATruncatedOne) {
  for (const std::string &bytes :
       {std::string(), gzip(""), gzip("# nothing but comments\n;\n"), gzip("!1.2.3.4\n")}) {
    auto c = cfg(SourceType::kRbldnsdIp4set, write("empty", bytes));
    auto [kind, what] = failure(c);
    EXPECT_EQ(kind, Kind::kEmpty) << what;
    EXPECT_THAT(what, HasSubstr("lists nothing"));
    EXPECT_THAT(what, HasSubstr("allow_empty = true in [test]"));
    c.allow_empty = true;
    ParsedSource p = parse_source(c);
    EXPECT_EQ(p.listed(), 0u);
    EXPECT_EQ(p.gzip, !bytes.empty());
  }
}

TEST_F(GzipSource, CorruptStreamsAreRefused) {
  std::string gz = gzip(kZen);
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0x55;  // the CRC-32 in the trailer
  std::string bad_method = gz;
  bad_method[2] = 7;  // compression method other than deflate
  for (const std::string &bytes : {bad_crc, bad_method, gz + "garbage after the stream"}) {
    auto [kind, what] = failure(cfg(SourceType::kRbldnsdIp4set, write("bad", bytes)));
    EXPECT_EQ(kind, Kind::kCorrupt) << what;
  }
}

TEST_F(GzipSource, AFifoOrADirectoryIsRefusedWithoutBlocking) {
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(failure(cfg(SourceType::kList, fifo)).first, Kind::kUnreadable);
  EXPECT_EQ(failure(cfg(SourceType::kList, dir_.string())).first, Kind::kUnreadable);
  EXPECT_EQ(failure(cfg(SourceType::kList, (dir_ / "missing").string())).first, Kind::kUnreadable);
}

TEST_F(GzipSource, TheBuildFailsOnAnEmptySourceUnlessItMayBeEmpty) {
  write("zen.zone", gzip(kZen));
  write("empty.zone", gzip(""));
  const std::string ini = R"([zen]
type = rbldnsd-ip4set
path = zen.zone
[fresh]
type = rbldnsd-ip4set
path = empty.zone
)";
  const std::string sources = write("sources.ini", ini);
  try {
    build(load_sources_file(sources));
    FAIL() << "a source listing nothing built a table";
  } catch (const SourceError &e) {
    EXPECT_EQ(e.kind(), Kind::kEmpty);
    EXPECT_THAT(e.what(), HasSubstr("empty.zone: lists nothing"));
  }
  write("sources.ini", ini + "allow_empty = true\n");
  BuildResult r = build(load_sources_file(sources));
  EXPECT_GT(r.table.hosts_v4().size() + r.table.prefixes_v4().size(), 0u);
  EXPECT_EQ(value4(r.table, "198.18.1.7").score, 1);
}

TEST_F(GzipSource, ExplainQuotesTheDecompressedLine) {
  write("zen.zone", gzip(kZen));
  const std::string sources =
      write("sources.ini", "[zen]\ntype = rbldnsd-ip4set\npath = zen.zone\n");
  SourcesFile sf = load_sources_file(sources);
  auto parsed = parse_all(sf);
  Explanation x = explain(sf, parsed, *parse_ip("198.18.1.7"));
  ASSERT_EQ(x.sources.size(), 1u);
  ASSERT_FALSE(x.sources[0].entries.empty());
  EXPECT_EQ(x.sources[0].entries[0].text, "198.18.1.7 :127.0.0.4:Dynamic address");
}

TEST(SourcesFileLimits, MaxSizeAndAllowEmptyKeys) {
  SourcesFile sf = parse_sources_text(R"(max_size = 64M
[a]
type = list
path = a.txt
[b]
type = list
path = b.txt
max_size = 2G
allow_empty = yes
[c]
type = list
path = c.txt
max_size = 4096
)",
                                      "/x/sources.ini");
  EXPECT_EQ(sf.sources[0].max_size, uint64_t{64} << 20);
  EXPECT_FALSE(sf.sources[0].allow_empty);
  EXPECT_EQ(sf.sources[1].max_size, uint64_t{2} << 30);
  EXPECT_TRUE(sf.sources[1].allow_empty);
  EXPECT_EQ(sf.sources[2].max_size, 4096u);
  EXPECT_EQ(parse_sources_text("[a]\ntype = list\npath = a\n", "/x/s.ini").sources[0].max_size,
            kDefaultMaxSize);
  for (const char *bad : {"0", "-1", "12T", "abc", "", "1.5G", "2000G"}) {
    try {
      parse_sources_text(fmt::format("[a]\ntype = list\npath = a\nmax_size = {}\n", bad), "s.ini");
      ADD_FAILURE() << "max_size = " << bad << " accepted";
    } catch (const Error &e) {
      EXPECT_THAT(e.what(), HasSubstr("bad max_size")) << bad;
    }
  }
  EXPECT_THROW(parse_sources_text("[a]\ntype = list\npath = a\nallow_empty = maybe\n", "s.ini"),
               Error);
}

}  // namespace
}  // namespace sluice::reputation::testing
