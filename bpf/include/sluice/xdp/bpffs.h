// Where the XDP data plane pins its maps and programs: /sys/fs/bpf/sluice/NAME/.
#pragma once

#include <string>

namespace sluice::xdp {

// /sys/fs/bpf unless SLUICE_BPFFS overrides it (tests use their own mount point only if set).
std::string bpffs_root();

// Mounts the BPF filesystem at bpffs_root() if nothing is mounted there yet.
void ensure_bpffs();

// Instance names become directory names: letters, digits, '-', '_', at most 32 characters.
void check_instance_name(const std::string &name);

// bpffs_root()/sluice/NAME
std::string pin_dir(const std::string &name);

// Removes every file in the pin directory and the directory itself (missing is fine), then
// bpffs_root()/sluice if no other instance is left in it.
void remove_pin_dir(const std::string &name);

// Removes bpffs_root()/sluice if it is empty (a directory left by the last instance).
void remove_sluice_dir_if_empty();

}  // namespace sluice::xdp
