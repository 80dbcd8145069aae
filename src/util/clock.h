// The clock interface. Protocol cores never read the time themselves; callers pass a Clock
// (or a timestamp) in, so the simulator can run on virtual time.
#pragma once

#include <cstdint>

namespace topo {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual uint64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  uint64_t NowMs() const override;
  static const SystemClock& Instance();
};

// A clock that moves only when told: tests and the simulator.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  uint64_t NowMs() const override { return now_; }
  void Advance(uint64_t ms) { now_ += ms; }
  void Set(uint64_t ms) { now_ = ms; }

 private:
  uint64_t now_;
};

}  // namespace topo
