#include "store/checkpointer.h"

#include <sqlite3.h>

namespace topo::store {

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool Checkpointer::Request() {
  {
    std::lock_guard lock(mu_);
    if (broken_) return false;
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    if (pending_) return true;
    pending_ = true;
    ++stats_.requested;
  }
  cv_.notify_one();
  return true;
}

CheckpointStats Checkpointer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Checkpointer::Run() {
  // Opened here and used only here. The WAL mode is the file's, so nothing needs setting but
  // synchronous: a checkpoint's fsyncs follow the checkpointing connection's level, and NORMAL
  // is what the writer's own checkpoints used.
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
  std::unique_lock lock(mu_);
  if (rc != SQLITE_OK) {
    broken_ = true;
    lock.unlock();
    sqlite3_close_v2(db);
    return;
  }
  for (;;) {
    cv_.wait(lock, [this] { return pending_ || stop_; });
    if (stop_) break;
    pending_ = false;
    lock.unlock();
    int log = 0, copied = 0;
    rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    lock.lock();
    ++stats_.run;
    if (rc != SQLITE_OK) {
      ++stats_.failed;
    } else if (log >= 0 && copied == log) {
      ++stats_.complete;
    }
  }
  lock.unlock();
  sqlite3_close_v2(db);
}

}  // namespace topo::store
