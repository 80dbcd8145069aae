// SqliteStateStore: StateStore over the `state` table (object, key, value) of a Database,
// with a write-back cache.
//
// Keys are stored and compared as blobs, so their order is unsigned bytewise (memcmp, then
// length), the order StateStore promises. Empty keys and values are allowed. Like every
// store over a Database, it runs in the caller's transaction and never opens one.
//
// Caching. The object layer reads and writes the same few entries many times per
// transaction (a counter's sum, an LWW register, a map key's presence tags), so:
//  - Inside a transaction, Put and Delete go to an in-memory overlay (ordered by object and
//    key, deletions included) and reach SQLite once, in key order, when the transaction
//    commits (the store is a TxnParticipant of its Database: BeforeCommit writes the
//    overlay, AfterRollback discards it). Get and Scan answer from the overlay merged with
//    SQLite's rows, so reads see the transaction's writes at once. When the overlay grows
//    past StateCacheOptions::dirty_bytes it is written through early, still inside the
//    transaction.
//  - Results of Get (values and "absent") are kept in a bounded clean cache that survives
//    commits and is dropped on rollback; a commit updates the entries it wrote. It is used
//    only inside a transaction, and the first use in each transaction (and each commit)
//    checks SQLite's `PRAGMA data_version`: if another connection committed since, the
//    cache is dropped.
//  - Scans inside a transaction remember the SQLite rows they read, per scan prefix, until
//    the overlay next reaches SQLite (at commit, or early): a later Scan of the same prefix
//    reads those rows from memory and goes to SQLite only past the last row remembered.
//    Nothing but this store writes `state` inside a transaction (another connection cannot
//    while this one holds the write lock), so the rows stay exact until then.
//  - Outside a transaction (autocommit) Put and Delete write through at once and reads go
//    straight to SQLite.
//
// REQUIRES: the Database is at schema version kSchemaVersion and outlives this object. This
// store is the only writer of the `state` table on its connection (a second SqliteStateStore
// on the same Database, or SQL run against `state` directly, would not be seen by the
// caches). Transactions end through Database::Commit / Rollback (or SQLite's own rollback
// after an error), never by running "COMMIT" as SQL, which would skip BeforeCommit: the
// next call then fails with Internal. Savepoints are not supported.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/database.h"
#include "store/state_store.h"

namespace topo::store {

struct StateCacheOptions {
  // The overlay of the current transaction's writes is written through (still inside the
  // transaction) once its writes add up to more than this. 0 writes through at every write.
  size_t dirty_bytes = 4 << 20;
  // The clean cache has one slot per 512 bytes of this (0: no clean cache); a slot holds one
  // key and its value, values over kMaxCleanValue bytes are not kept.
  size_t clean_bytes = 4 << 20;
  // The rows remembered from scans, per transaction. Past this, scans read SQLite.
  size_t scan_bytes = 4 << 20;
};

// What the caches did since construction; for tests and benchmarks.
struct StateCacheStats {
  uint64_t get_hits = 0;        // Gets answered from the overlay or the clean cache
  uint64_t get_misses = 0;      // Gets that read SQLite
  uint64_t scan_rows_read = 0;  // rows stepped from SQLite by Scan
  uint64_t rows_written = 0;    // rows inserted, replaced or deleted in SQLite
  uint64_t spills = 0;          // overlays written through early (over dirty_bytes)
  uint64_t clean_drops = 0;     // clean caches dropped: rollback, or another connection wrote
};

class SqliteStateStore final : public StateStore, private TxnParticipant {
 public:
  static constexpr size_t kMaxCleanValue = 512;

  explicit SqliteStateStore(Database& db, StateCacheOptions options = {});
  // Writes a pending overlay into the open transaction (best effort: errors are lost).
  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  Result<std::optional<Bytes>> Get(const ObjectId& object, ByteView key) override;
  Status Put(const ObjectId& object, ByteView key, ByteView value) override;
  // Inside a transaction, the entry is marked as having no SQLite row: a Delete of it in the
  // same transaction drops it from the overlay, so nothing reaches SQLite.
  Status PutNew(const ObjectId& object, ByteView key, ByteView value) override;
  Status Delete(const ObjectId& object, ByteView key) override;
  // fn must not write to this object's state while the scan runs (it may read, and may
  // write other objects' state).
  Status Scan(const ObjectId& object, ByteView prefix,
              const std::function<bool(ByteView key, ByteView value)>& fn) override;
  // Scans that start past the prefix neither use nor remember the rows of earlier scans.
  Status ScanFrom(const ObjectId& object, ByteView prefix, ByteView from,
                  const std::function<bool(ByteView key, ByteView value)>& fn) override;

  // Writes the overlay to SQLite now (inside the current transaction). Commit does this.
  Status Flush();

  const StateCacheStats& stats() const { return stats_; }
  size_t dirty_entries() const { return dirty_.size(); }

 private:
  // The caches' keys are the 32-byte object id followed by the state key. Strings compare
  // as unsigned bytes, then by length: (object, key) order, the order of the table.

  // One overlay entry: a value, or a deletion. Lives in arena_ (uses-allocator construction
  // by the map).
  struct Dirty {
    using allocator_type = std::pmr::polymorphic_allocator<char>;
    explicit Dirty(const allocator_type& alloc) : value(alloc) {}
    bool present = false;
    bool fresh = false;  // SQLite has no row of this key (PutNew)
    std::pmr::string value;
  };
  using Overlay = std::pmr::map<std::pmr::string, Dirty, std::less<>>;

  // Recent Get results, direct-mapped by hash: a lookup or an insert is one slot, and the
  // memory is fixed by the slot count. A slot belongs to the current generation or is
  // empty, so dropping everything is one increment.
  class CleanCache {
   public:
    explicit CleanCache(size_t budget_bytes);
    struct Slot {
      uint64_t generation = 0;
      size_t hash = 0;  // compared first: a slot holding another key is told apart at once
      bool present = false;
      std::string key;
      Bytes value;
    };
    // The slot holding `key`, or nullptr.
    const Slot* Find(std::string_view key, size_t hash) const;
    void Insert(std::string_view key, size_t hash, const std::optional<ByteView>& value);
    void Erase(std::string_view key, size_t hash);
    // Replaces the value of `key` if it is cached.
    void Update(std::string_view key, size_t hash, const std::optional<ByteView>& value);
    void Clear() { ++generation_; }
    bool empty() const { return inserted_ != generation_; }

   private:
    std::vector<Slot> slots_;
    uint64_t generation_ = 1;
    uint64_t inserted_ = 0;  // the generation of the last insert
  };

  // The SQLite rows of one scan prefix known so far, in key order: every row in
  // [prefix, rows.back()] (or, when complete, every row with the prefix).
  struct ScanRows {
    std::vector<std::pair<Bytes, Bytes>> rows;  // state keys without the object
    bool complete = false;
  };

  // Runs Get/Put/Delete/Scan's preamble: fails when a transaction ended without
  // BeforeCommit (its overlay was lost), and drops what a new transaction cannot trust.
  Status CheckTxnState();
  // Drops the clean cache if another connection committed since it was last checked.
  Status ValidateClean();
  Result<std::optional<Bytes>> ReadRow(const ObjectId& object, ByteView key);
  Status WriteRow(ByteView object, ByteView key, const std::optional<ByteView>& value);
  // Writes the overlay through, in key order and in multi-row statements.
  Status WriteOverlay();
  Status MaybeSpill();
  // The overlay entry of the key in scratch_, created if missing.
  Dirty& DirtyEntry(const ObjectId& object, ByteView key);
  void ReleaseOverlay();
  // Sets scratch_ to object || key and returns it.
  std::string_view LookupKey(const ObjectId& object, ByteView key);
  // Both REQUIRE: `from` starts with `prefix`.
  Status ScanSqlite(const ObjectId& object, ByteView prefix, ByteView from,
                    const std::function<bool(ByteView, ByteView)>& fn);
  Status ScanMerged(const ObjectId& object, ByteView prefix, ByteView from,
                    const std::function<bool(ByteView, ByteView)>& fn);
  // Drops every cache now, or when the current iteration over them ends.
  void Forget();
  void DropAll();

  Status BeforeCommit() override;
  void AfterRollback() override;

  // Marks a stretch that iterates the overlay or scan rows: a rollback reported meanwhile
  // (SQLite rolls back on its own after some errors, inside a statement this store runs)
  // is applied at the end of the stretch.
  class BusyScope {
   public:
    explicit BusyScope(SqliteStateStore& s) : s_(s) { ++s_.busy_; }
    ~BusyScope();

   private:
    SqliteStateStore& s_;
  };

  Database& db_;
  StateCacheOptions options_;
  // The overlay's memory: released whole when the overlay is written or dropped.
  std::pmr::monotonic_buffer_resource arena_{64 * 1024};
  Overlay dirty_{&arena_};
  size_t dirty_bytes_ = 0;  // written into the arena since its release, roughly
  CleanCache clean_;
  // Keyed by object id and scan prefix, like the overlay.
  std::unordered_map<std::string, ScanRows> scans_;
  size_t scan_bytes_ = 0;
  // Whether the clean cache has been checked against data_version in this transaction.
  bool clean_checked_ = false;
  int64_t data_version_ = -1;
  int busy_ = 0;
  bool rollback_pending_ = false;
  std::string scratch_;  // LookupKey's buffer
  StateCacheStats stats_;
};

// The smallest byte string greater than every string that starts with `prefix`: the prefix
// with trailing 0xff bytes dropped and its last byte incremented. nullopt when there is none
// (prefix empty or all 0xff): every key from `prefix` on matches.
std::optional<Bytes> PrefixSuccessor(ByteView prefix);

}  // namespace topo::store
