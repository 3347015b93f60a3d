// The /metrics request parser: what a scraper sends is taken, everything else refused with its
// status. Hostile-input regression cases live here too (tests/fuzz/fuzz_metrics_http.cc fuzzes
// the same function).
#include "sluiced/metrics/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::sluiced::metrics {
namespace {

ParseResult parse(const std::string &s, HttpLimits limits = {}) {
  return parse_http_request(s, limits);
}

TEST(HttpRequest, PrometheusScrapeIsComplete) {
  const std::string req =
      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9477\r\nUser-Agent: Prometheus/2.45.0\r\n"
      "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
      "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
  const ParseResult r = parse(req);
  ASSERT_EQ(r.state, ParseState::complete) << r.reason;
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path(), "/metrics");
  EXPECT_EQ(r.request.version, "HTTP/1.1");
  EXPECT_EQ(r.request.headers, 5u);
  EXPECT_EQ(r.head_bytes, req.size());
}

TEST(HttpRequest, CurlWithBareLineFeedsAndHttp10AreComplete) {
  const ParseResult r = parse("HEAD /metrics?x=1 HTTP/1.0\nHost: x\n\n");
  ASSERT_EQ(r.state, ParseState::complete) << r.reason;
  EXPECT_EQ(r.request.method, "HEAD");
  EXPECT_EQ(r.request.target, "/metrics?x=1");
  EXPECT_EQ(r.request.path(), "/metrics");
}

TEST(HttpRequest, EveryPrefixOfAValidRequestIsIncomplete) {
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t n = 0; n < req.size(); ++n)
    EXPECT_EQ(parse(req.substr(0, n)).state, ParseState::incomplete) << "prefix of " << n;
  EXPECT_EQ(parse(req).state, ParseState::complete);
}

TEST(HttpRequest, BytesAfterTheHeadAreNotPartOfIt) {
  const ParseResult r = parse("GET /metrics HTTP/1.1\r\n\r\nGET /other HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::complete);
  EXPECT_EQ(r.request.target, "/metrics");
  EXPECT_EQ(r.head_bytes, 25u);
}

struct Refusal {
  const char *name;
  std::string input;
  int status;
};

class HttpRequestRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(HttpRequestRefuses, WithItsStatus) {
  const ParseResult r = parse(GetParam().input);
  ASSERT_EQ(r.state, ParseState::error) << GetParam().name;
  EXPECT_EQ(r.status, GetParam().status) << r.reason;
  EXPECT_FALSE(r.reason.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, HttpRequestRefuses,
    ::testing::Values(
        Refusal{"two_spaces", "GET  /metrics HTTP/1.1\r\n\r\n", 400},
        Refusal{"no_version", "GET /metrics\r\n\r\n", 400},
        Refusal{"trailing_space", "GET /metrics HTTP/1.1 \r\n\r\n", 400},
        Refusal{"empty_request_line", "\r\n\r\n", 400},
        Refusal{"method_not_token", "G(T /metrics HTTP/1.1\r\n\r\n", 400},
        Refusal{"absolute_form", "GET http://x/metrics HTTP/1.1\r\n\r\n", 400},
        Refusal{"asterisk_form", "OPTIONS * HTTP/1.1\r\n\r\n", 400},
        Refusal{"control_in_target", "GET /met\x01rics HTTP/1.1\r\n\r\n", 400},
        Refusal{"high_byte_in_target", "GET /m\xc3\xa9 HTTP/1.1\r\n\r\n", 400},
        Refusal{"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
        Refusal{"http2_version", "GET /metrics HTTP/2.0\r\n\r\n", 505},
        Refusal{"http09_version", "GET /metrics HTTP/0.9\r\n\r\n", 505},
        Refusal{"lowercase_version", "GET /metrics http/1.1\r\n\r\n", 400},
        Refusal{"long_version", "GET /metrics HTTP/1.10\r\n\r\n", 400},
        Refusal{"bare_cr_in_request_line", "GET /metrics\rHTTP/1.1\r\n\r\n", 400},
        Refusal{"bare_cr_in_header", "GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n", 400},
        Refusal{"nul", std::string("GET /metrics HTTP/1.1\r\nA: ") + '\0' + "\r\n\r\n", 400},
        Refusal{"folded_header", "GET /metrics HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},
        Refusal{"space_before_colon", "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        Refusal{"header_without_colon", "GET /metrics HTTP/1.1\r\nHost\r\n\r\n", 400},
        Refusal{"empty_header_name", "GET /metrics HTTP/1.1\r\n: x\r\n\r\n", 400},
        Refusal{"control_in_value", "GET /metrics HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400},
        Refusal{"body", "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400},
        Refusal{"chunked", "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        Refusal{"smuggling_case", "GET /metrics HTTP/1.1\r\ncOnTeNt-LeNgTh: 1\r\n\r\nx", 400}),
    [](const ::testing::TestParamInfo<Refusal> &i) { return std::string(i.param.name); });

TEST(HttpRequest, ZeroContentLengthIsNoBody) {
  EXPECT_EQ(parse("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").state,
            ParseState::complete);
}

TEST(HttpRequest, HeadLongerThanTheLimitIs431EvenWithoutALineEnd) {
  HttpLimits lim;
  lim.max_head_bytes = 64;
  // A request line that never ends.
  const ParseResult a = parse("GET /" + std::string(100, 'a'), lim);
  ASSERT_EQ(a.state, ParseState::error);
  EXPECT_EQ(a.status, 431);
  // Headers that never end.
  const ParseResult b = parse("GET / HTTP/1.1\r\nA: " + std::string(100, 'b'), lim);
  ASSERT_EQ(b.state, ParseState::error);
  EXPECT_EQ(b.status, 431);
  // Exactly at the limit and complete: taken.
  std::string fits = "GET / HTTP/1.1\r\nA: ";
  fits += std::string(64 - fits.size() - 4, 'c') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_EQ(parse(fits, lim).state, ParseState::complete);
}

TEST(HttpRequest, MoreHeaderLinesThanTheLimitIs431) {
  HttpLimits lim;
  lim.max_headers = 3;
  std::string req = "GET /metrics HTTP/1.1\r\n";
  for (int i = 0; i < 3; ++i) req += "A: b\r\n";
  EXPECT_EQ(parse(req + "\r\n", lim).state, ParseState::complete);
  const ParseResult r = parse(req + "A: b\r\n\r\n", lim);
  ASSERT_EQ(r.state, ParseState::error);
  EXPECT_EQ(r.status, 431);
}

TEST(HttpRequest, ARequestLineNoRequestCanStartWithIsRefusedBeforeItEnds) {
  const ParseResult tls = parse(std::string("\x16\x03\x01\x02\x00\x01", 6));
  ASSERT_EQ(tls.state, ParseState::error);
  EXPECT_EQ(tls.status, 400);
  EXPECT_EQ(parse("GET /m\xc3").state, ParseState::error);
  EXPECT_EQ(parse("GET /metrics HTTP/1.1").state, ParseState::incomplete);
}

// Found by fuzz_metrics_http: a NUL anywhere used to be judged before the request line, so the
// answer depended on whether the NUL had arrived yet (505 in two reads, 400 in one).
TEST(HttpRequest, TheVerdictDoesNotDependOnHowTheBytesArrive) {
  const std::string req = std::string("POST /metrics HTTP/2.1\r\nA: ") + '\0' + "\r\n\r\n";
  const ParseResult whole = parse(req);
  ASSERT_EQ(whole.state, ParseState::error);
  for (size_t cut = 24; cut < req.size(); ++cut) {
    const ParseResult part = parse(req.substr(0, cut));
    ASSERT_EQ(part.state, ParseState::error) << cut;
    EXPECT_EQ(part.status, whole.status) << cut;
  }
  EXPECT_EQ(whole.status, 505);
}

TEST(HttpRequest, CrAsTheLastByteReceivedWaitsForItsLineFeed) {
  EXPECT_EQ(parse("GET /metrics HTTP/1.1\r").state, ParseState::incomplete);
  EXPECT_EQ(parse("GET /metrics HTTP/1.1\r\nA: b\r").state, ParseState::incomplete);
}

}  // namespace
}  // namespace sluice::sluiced::metrics
