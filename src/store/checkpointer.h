// Checkpointer: copies a WAL database's log into its main file on a thread of its own, so the
// writer's commits do not pay for checkpoints.
//
// SQLite's automatic checkpoint runs inside the commit that takes the WAL past
// wal_autocheckpoint pages: the writer copies every page the log holds into the database file
// and waits for two fsyncs before its next transaction can begin. With a Checkpointer the
// Database's WAL hook only asks for a checkpoint (Request) and the thread runs a PASSIVE one
// on a second connection to the same file while the writer goes on; SQLite's locks keep the
// two apart (a PASSIVE checkpoint never blocks the writer and copies only frames of committed
// transactions). The log restarts from its beginning at the first write transaction that
// finds it wholly copied, as with SQLite's own checkpoints.
//
// The thread and its connection start at the first Request and end in the destructor, which
// waits for a checkpoint under way. A checkpoint that fails (busy, I/O) is counted and
// retried at the next Request; the Database falls back to checkpointing in its own commit
// when the log grows far past the threshold (store/database.h, OpenOptions).
//
// Thread-safety: Request and stats may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace topo::store {

struct CheckpointStats {
  uint64_t requested = 0;  // Requests that found no checkpoint pending
  uint64_t run = 0;        // checkpoints run by the thread
  uint64_t failed = 0;     // of which failed (busy or I/O)
  uint64_t complete = 0;   // of which copied the whole log (it may then restart)
};

class Checkpointer {
 public:
  explicit Checkpointer(std::string path) : path_(std::move(path)) {}
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Asks for a checkpoint soon; returns at once. False when the thread cannot work (its
  // connection did not open): the caller then checkpoints itself.
  bool Request();
  CheckpointStats stats() const;

 private:
  void Run();

  const std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  bool broken_ = false;  // the connection did not open
  CheckpointStats stats_;
  std::thread thread_;
};

}  // namespace topo::store
