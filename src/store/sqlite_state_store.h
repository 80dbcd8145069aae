// SqliteStateStore: StateStore over the `state` table (object, key, value) of a Database.
//
// Keys are stored and compared as blobs, so their order is unsigned bytewise (memcmp, then
// length), the order StateStore promises. Empty keys and values are allowed. Like every
// store over a Database, it runs in the caller's transaction and never opens one.
//
// REQUIRES: the Database is at schema version kSchemaVersion and outlives this object.
// Not thread-safe.
#pragma once

#include "store/database.h"
#include "store/state_store.h"

namespace topo::store {

class SqliteStateStore final : public StateStore {
 public:
  explicit SqliteStateStore(Database& db) : db_(db) {}

  Result<std::optional<Bytes>> Get(const ObjectId& object, ByteView key) override;
  Status Put(const ObjectId& object, ByteView key, ByteView value) override;
  Status Delete(const ObjectId& object, ByteView key) override;
  // fn must not write to this object's state while the scan runs (it may read).
  Status Scan(const ObjectId& object, ByteView prefix,
              const std::function<bool(ByteView key, ByteView value)>& fn) override;

 private:
  Database& db_;
};

// The smallest byte string greater than every string that starts with `prefix`: the prefix
// with trailing 0xff bytes dropped and its last byte incremented. nullopt when there is none
// (prefix empty or all 0xff): every key from `prefix` on matches.
std::optional<Bytes> PrefixSuccessor(ByteView prefix);

}  // namespace topo::store
