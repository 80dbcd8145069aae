#include "graph/prepare_queue.h"

#include <algorithm>

namespace topo::graph {

PrepareQueue::PrepareQueue(PrepareQueueOptions options) : options_(std::move(options)) {}

PrepareQueue::~PrepareQueue() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void PrepareQueue::StartWorkers() {
  unsigned n = options_.threads ? options_.threads : std::thread::hardware_concurrency();
  n = std::max(1u, n);
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

void PrepareQueue::Push(std::vector<Bytes> raws) {
  if (raws.empty()) return;
  const size_t unit = std::max<size_t>(1, options_.unit);
  {
    std::lock_guard lock(mu_);
    if (workers_.empty()) StartWorkers();
    size_t i = 0;
    // Small pushes (a frame of a few vertices) fill the last unit while no worker has it.
    if (units_.size() > next_unclaimed_) {
      Unit& last = *units_.back();
      while (i < raws.size() && last.raws.size() < unit) last.raws.push_back(std::move(raws[i++]));
    }
    while (i < raws.size()) {
      auto u = std::make_unique<Unit>();
      const size_t end = std::min(raws.size(), i + unit);
      u->raws.reserve(end - i);
      for (; i < end; ++i) u->raws.push_back(std::move(raws[i]));
      units_.push_back(std::move(u));
    }
    size_ += raws.size();
  }
  work_cv_.notify_all();
}

void PrepareQueue::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || next_unclaimed_ < units_.size(); });
    if (stop_) return;
    // Claimed: from here on only this worker touches the unit until it sets `done`, and the
    // unit stays in units_ (and at this address) until then.
    Unit* u = units_[next_unclaimed_++].get();
    lock.unlock();
    u->out.reserve(u->raws.size());
    for (Bytes& raw : u->raws) u->out.push_back(Prepare(std::move(raw)));
    u->raws = {};
    lock.lock();
    u->done = true;
    done_cv_.notify_all();
    if (options_.on_ready) {
      lock.unlock();
      options_.on_ready();
      lock.lock();
    }
  }
}

size_t PrepareQueue::ReadyLocked() const {
  size_t n = 0;
  for (const auto& u : units_) {
    if (!u->done) break;
    n += u->out.size() - u->taken;
  }
  return n;
}

std::vector<Prepared> PrepareQueue::TakeLocked(size_t n) {
  std::vector<Prepared> out;
  out.reserve(n);
  while (out.size() < n) {
    Unit& u = *units_.front();
    const size_t k = std::min(n - out.size(), u.out.size() - u.taken);
    for (size_t i = 0; i < k; ++i) out.push_back(std::move(u.out[u.taken++]));
    if (u.taken == u.out.size()) {
      units_.pop_front();
      --next_unclaimed_;  // the popped unit was claimed (it is done)
    }
  }
  size_ -= n;
  return out;
}

size_t PrepareQueue::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

size_t PrepareQueue::ready() const {
  std::lock_guard lock(mu_);
  return ReadyLocked();
}

std::vector<Prepared> PrepareQueue::Take(size_t max) {
  std::unique_lock lock(mu_);
  const size_t n = std::min(max, size_);
  done_cv_.wait(lock, [&] { return ReadyLocked() >= n; });
  return TakeLocked(n);
}

std::vector<Prepared> PrepareQueue::TakeReady(size_t max) {
  std::lock_guard lock(mu_);
  return TakeLocked(std::min(max, ReadyLocked()));
}

}  // namespace topo::graph
