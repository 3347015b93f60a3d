// `sluice-xdp attach --upgrade` over maps pinned by an older sluice-xdp whose sl_policy and
// sl_stats were shorter (map_layout.h): the instance's policy and stats maps are replaced by
// maps of the old layouts (what an older build left pinned), then upgrade() must carry the
// policy and every counter over into maps of this build's layouts; a changed map it cannot
// carry over refuses the upgrade and leaves the running programs in place.
//
// Two veth pairs in the test's own namespace (generic XDP; no traffic is needed: the old
// counters are written by the test, so every expected figure is known).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/privileged.h"
#include "core/sl_shared.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/fd.h"
#include "sluice/xdp/policy_map.h"

namespace sluice::xdp {
namespace {

// The layouts before the stateless tarpit: sl_policy without tarpit_cookies and cookie_key,
// sl_stats without the three tarpit counters.
constexpr uint32_t kOldPolicySize = sizeof(sl_policy) - 4 - 16;
constexpr uint32_t kOldStatsSize = sizeof(sl_stats) - 3 * 8;

int sh(const std::string &cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

uint32_t value_size(const std::string &pin) {
  Fd fd(bpf_obj_get(pin.c_str()));
  if (fd.fd < 0) return 0;
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd.fd, &info, &len) == 0 ? info.value_size : 0;
}

uint32_t attached(const std::string &ifname) {
  uint32_t id = 0;
  bpf_xdp_query_id(static_cast<int>(if_nametoindex(ifname.c_str())), XDP_FLAGS_SKB_MODE, &id);
  return id;
}

// Pins `fd` at `path` in place of whatever is pinned there.
void repin(int fd, const std::string &path) {
  ::unlink(path.c_str());
  ASSERT_EQ(bpf_obj_pin(fd, path.c_str()), 0) << path << ": " << std::strerror(errno);
}

class XdpLayoutUpgrade : public ::testing::Test {
 protected:
  const std::string id = std::to_string(getpid());
  const std::string out_if = "slua" + id, in_if = "slub" + id;
  const std::string name = "layout-" + id;

  void SetUp() override {
    SLUICE_REQUIRE_PRIVILEGED();
    TearDown();
    ASSERT_TRUE(sh("ip link add " + out_if + " type veth peer name sluc" + id) == 0 &&
                sh("ip link add " + in_if + " type veth peer name slud" + id) == 0 &&
                sh("ip link set " + out_if + " up") == 0 && sh("ip link set " + in_if + " up") == 0)
        << "cannot create the veth pairs";
    attach({.name = name, .outside = out_if, .inside = in_if, .mode = XdpMode::generic});
    dir = pin_dir(name);
  }

  void TearDown() override {
    try {
      if (instance_exists(name)) detach(name);
    } catch (const Error &) {
    }
    sh("ip link del " + out_if);
    sh("ip link del " + in_if);
    std::error_code ec;
    std::filesystem::remove_all(pin_dir(name), ec);
  }

  // A policy with something in every old field that matters: levels, thresholds, a port.
  static sl_policy sample_policy() {
    sl_policy p{};
    p.nlevels = 2;
    p.thresholds[1] = 3;
    p.profiles[1].window_clamp = 2048;
    p.smtp_ports[0] = htons(2525);
    p.generation = 7;
    p.heavy_syn_threshold = 50;
    return p;
  }

  // Replaces the pinned policy_init and policy with maps of the old sl_policy layout, holding
  // the first kOldPolicySize bytes of `p`.
  void pin_old_policy(const sl_policy &p) {
    Fd init(bpf_map_create(BPF_MAP_TYPE_ARRAY, "policy_init", 4, kOldPolicySize, 1, nullptr));
    ASSERT_GE(init.fd, 0) << std::strerror(errno);
    LIBBPF_OPTS(bpf_map_create_opts, outer_opts, .inner_map_fd = static_cast<__u32>(init.fd));
    Fd outer(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "policy", 4, 4, 1, &outer_opts));
    ASSERT_GE(outer.fd, 0) << std::strerror(errno);
    Fd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "policy_slot", 4, kOldPolicySize, 1, nullptr));
    ASSERT_GE(inner.fd, 0) << std::strerror(errno);
    std::vector<unsigned char> old_value(kOldPolicySize);
    std::memcpy(old_value.data(), &p, kOldPolicySize);
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(inner.fd, &zero, old_value.data(), BPF_ANY), 0);
    ASSERT_EQ(bpf_map_update_elem(outer.fd, &zero, &inner.fd, BPF_ANY), 0);
    repin(init.fd, dir + "/policy_init");
    repin(outer.fd, dir + "/policy");
  }

  // Replaces the pinned stats with a per-CPU map of the old sl_stats layout in which CPU c
  // counted smtp[0] = 1000 + c and level[1].syns = 10 + c. Returns the sums.
  std::pair<uint64_t, uint64_t> pin_old_stats() {
    const int cpus = libbpf_num_possible_cpus();
    const size_t stride = (kOldStatsSize + 7) / 8;  // in u64 words
    std::vector<uint64_t> values(stride * cpus, 0);
    uint64_t smtp = 0, syns = 0;
    for (int c = 0; c < cpus; ++c) {
      sl_stats s{};
      s.smtp[0] = 1000 + c;
      s.level[1].syns = 10 + c;
      std::memcpy(&values[c * stride], &s, kOldStatsSize);
      smtp += s.smtp[0];
      syns += s.level[1].syns;
    }
    Fd stats(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "stats", 4, kOldStatsSize, 1, nullptr));
    EXPECT_GE(stats.fd, 0) << std::strerror(errno);
    const uint32_t zero = 0;
    EXPECT_EQ(bpf_map_update_elem(stats.fd, &zero, values.data(), BPF_ANY), 0);
    repin(stats.fd, dir + "/stats");
    return {smtp, syns};
  }

  std::string dir;
};

TEST_F(XdpLayoutUpgrade, PolicyAndCountersAreCarriedIntoTheNewLayouts) {
  pin_old_policy(sample_policy());
  const auto [smtp, syns] = pin_old_stats();
  ASSERT_EQ(value_size(dir + "/policy_init"), kOldPolicySize);
  ASSERT_EQ(value_size(dir + "/stats"), kOldStatsSize);
  const uint32_t old_out = attached(out_if), old_in = attached(in_if);

  const auto [new_out, new_in] = upgrade(name);

  EXPECT_NE(new_out, old_out);
  EXPECT_NE(new_in, old_in);
  EXPECT_EQ(attached(out_if), new_out);
  EXPECT_EQ(attached(in_if), new_in);
  // The pins now name maps of this build's layouts...
  EXPECT_EQ(value_size(dir + "/policy_init"), sizeof(sl_policy));
  EXPECT_EQ(value_size(dir + "/stats"), sizeof(sl_stats));
  // ...holding the old policy (the appended fields 0) and the old counts.
  Fd policy(bpf_obj_get((dir + "/policy").c_str()));
  ASSERT_GE(policy.fd, 0);
  const sl_policy p = read_policy(policy.fd);
  const sl_policy want = sample_policy();
  EXPECT_EQ(p.generation, 7u);
  EXPECT_EQ(p.nlevels, 2u);
  EXPECT_EQ(p.thresholds[1], 3);
  EXPECT_EQ(p.profiles[1].window_clamp, want.profiles[1].window_clamp);
  EXPECT_EQ(p.smtp_ports[0], htons(2525));
  EXPECT_EQ(p.heavy_syn_threshold, 50u);
  EXPECT_EQ(p.tarpit_cookies, 0u);
  const Status st = status(name);
  EXPECT_TRUE(st.outside.attached);
  EXPECT_TRUE(st.inside.attached);
  EXPECT_EQ(st.policy_generation, 7u);
  EXPECT_EQ(st.stats.smtp[0], smtp);  // no SMTP traffic crosses the pairs
  EXPECT_EQ(st.stats.level[1].syns, syns);
  EXPECT_EQ(st.stats.tarpit_synacks, 0u);

  // A second upgrade finds nothing to renew and keeps everything.
  upgrade(name);
  EXPECT_EQ(status(name).stats.smtp[0], smtp);
  EXPECT_EQ(status(name).policy_generation, 7u);
}

TEST_F(XdpLayoutUpgrade, AChangedMapThatCannotBeCarriedRefusesAndChangesNothing) {
  // rep_active (which half of the double-buffered reputation table is live) with another value
  // size: not something an upgrade may guess at.
  Fd changed(bpf_map_create(BPF_MAP_TYPE_ARRAY, "rep_active", 4, 8, 1, nullptr));
  ASSERT_GE(changed.fd, 0) << std::strerror(errno);
  Fd real(bpf_obj_get((dir + "/rep_active").c_str()));
  ASSERT_GE(real.fd, 0);
  repin(changed.fd, dir + "/rep_active");
  const uint32_t old_out = attached(out_if), old_in = attached(in_if);
  try {
    upgrade(name);
    ADD_FAILURE() << "upgrade over a changed rep_active map succeeded";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/rep_active"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("detach and attach"), std::string::npos) << e.what();
  }
  EXPECT_EQ(attached(out_if), old_out);
  EXPECT_EQ(attached(in_if), old_in);
  EXPECT_EQ(value_size(dir + "/rep_active"), 8u);  // the pins are left as they were
  repin(real.fd, dir + "/rep_active");
}

}  // namespace
}  // namespace sluice::xdp
