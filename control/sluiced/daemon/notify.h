// systemd readiness (Type=notify) through libsystemd's sd_notify: READY=1 once the first push
// round is done (or the data planes are known down), STATUS= lines as things change,
// STOPPING=1 on shutdown, WATCHDOG=1 when the unit sets WatchdogSec=. Without NOTIFY_SOCKET
// (not under systemd) every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace sluice::sluiced {

void notify_ready(const std::string &status);
void notify_status(const std::string &status);
void notify_stopping();
void notify_watchdog();
// Half the unit's watchdog interval (how often to send WATCHDOG=1), or nullopt when off.
std::optional<std::chrono::milliseconds> watchdog_period();

}  // namespace sluice::sluiced
