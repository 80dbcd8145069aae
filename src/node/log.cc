#include "node/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

namespace topo::node {

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

Log::~Log() {
  if (file_) std::fclose(file_);
}

Status Log::OpenFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open log file " + path);
  std::FILE* f = ::fdopen(fd, "a");
  if (!f) {
    ::close(fd);
    return Status::IOError("cannot open log file " + path);
  }
  if (file_) std::fclose(file_);
  file_ = f;
  return Status::Ok();
}

void Log::Write(LogLevel level, std::string_view message) {
  if (level < level_) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::FILE* out = file_ ? file_ : stderr;
  std::fprintf(out, "%s.%03dZ %-5s %.*s\n", stamp, static_cast<int>(ms % 1000), LogLevelName(level),
               static_cast<int>(message.size()), message.data());
  std::fflush(out);
}

}  // namespace topo::node
