// The node's log: one line per event, "2026-11-22T10:00:00.123Z info  message", appended to a
// file beside the database (daemon.h: LogPath) or to stderr in the foreground. Lines below
// the level are dropped. Not thread-safe: the node logs from its event loop.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace topo::node {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

std::optional<LogLevel> ParseLogLevel(std::string_view name);  // debug | info | warn | error
const char* LogLevelName(LogLevel level);

class Log {
 public:
  Log() = default;  // to stderr
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  // Appends to `path` (created 0600).
  Status OpenFile(const std::string& path);
  void set_level(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }

  void Write(LogLevel level, std::string_view message);
  void Debug(std::string_view m) { Write(LogLevel::kDebug, m); }
  void Info(std::string_view m) { Write(LogLevel::kInfo, m); }
  void Warn(std::string_view m) { Write(LogLevel::kWarn, m); }
  void Error(std::string_view m) { Write(LogLevel::kError, m); }

 private:
  std::FILE* file_ = nullptr;  // nullptr: stderr
  LogLevel level_ = LogLevel::kInfo;
};

}  // namespace topo::node
