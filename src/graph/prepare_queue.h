// PrepareQueue: the pure stage of the ingest (graph::Prepare: decode, id, signature check) on
// worker threads that live as long as the queue, fed while vertices arrive and drained in
// arrival order.
//
// Preparing a vertex costs about one Ed25519 verify, several times the sequential stage
// (Ingestor::Ingest and the commit). PrepareAll prepares one batch and returns, so a pipeline
// built on it idles its cores whenever it waits for the next batch (at the start of each
// call, while vertices are read or received). Here a vertex starts being prepared as soon as it
// is pushed, in units of a few dozen, on every worker, whatever the owner is doing meanwhile
// (applying earlier vertices, reading the network); the owner takes prepared vertices from
// the front, in push order.
//
//   PrepareQueue q;
//   q.Push(std::move(arrived));       as vertices come
//   auto batch = q.Take(4096);        waits until the first 4096 (or all, if fewer) are ready
//   auto some = q.TakeReady(4096);    what is ready at the front now, without waiting
//
// Guarantees:
//  - Items come out in push order, each exactly once, prepared exactly as Prepare() would.
//  - Workers start at the first Push (a queue never pushed to costs no thread) and stop in
//    the destructor, which waits for the units being prepared and drops the rest.
//  - The queue holds what was pushed and not yet taken and bounds nothing itself: the owner
//    decides how much it lets in (object::IngestPipeline keeps a bound).
// Thread-safety: every method may be called from any thread; items pushed by different
// threads interleave in the order the calls took the queue's lock. `on_ready` runs on a
// worker thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "graph/ingest.h"

namespace topo::graph {

struct PrepareQueueOptions {
  unsigned threads = 0;  // worker threads; 0 = one per core
  size_t unit = 64;      // vertices a worker prepares per turn (at least 1)
  // Called on a worker thread, without the queue's lock held, after a unit is prepared: more
  // may be ready at the front (or not yet, when an earlier unit is still being prepared).
  // For an event loop to post "apply what is ready" to itself; it must be quick and must not
  // destroy the queue.
  std::function<void()> on_ready;
};

class PrepareQueue {
 public:
  explicit PrepareQueue(PrepareQueueOptions options = {});
  ~PrepareQueue();
  PrepareQueue(const PrepareQueue&) = delete;
  PrepareQueue& operator=(const PrepareQueue&) = delete;

  // Appends vertices (signed encodings) to the back. Never waits for the workers.
  void Push(std::vector<Bytes> raws);
  // Vertices pushed and not yet taken.
  size_t size() const;
  // Vertices at the front that are prepared: what TakeReady would return, at most.
  size_t ready() const;
  // The first min(max, size()) vertices, prepared, waiting for the workers as long as needed.
  std::vector<Prepared> Take(size_t max);
  // The prepared vertices at the front, at most `max`, without waiting (maybe none).
  std::vector<Prepared> TakeReady(size_t max);

 private:
  // Consecutive vertices that one worker prepares in one turn.
  struct Unit {
    std::vector<Bytes> raws;    // pushed, until prepared
    std::vector<Prepared> out;  // prepared; written by one worker before `done` is set
    size_t taken = 0;           // items of `out` the owner took
    bool done = false;
  };
  void StartWorkers();  // REQUIRES: mu_ held
  void Work();
  size_t ReadyLocked() const;
  std::vector<Prepared> TakeLocked(size_t n);

  const PrepareQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;          // a unit to claim, or stop_
  std::condition_variable done_cv_;          // a unit was prepared
  std::deque<std::unique_ptr<Unit>> units_;  // oldest first; a unit stays until taken whole
  size_t next_unclaimed_ = 0;  // index in units_ of the first unit no worker has claimed
  size_t size_ = 0;            // items pushed and not taken
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace topo::graph
