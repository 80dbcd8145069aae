// Object state as ordered key/value entries, per object. The object layer's CRDTs read and
// write their state through this interface and never see SQL. Implemented over SQLite by
// SqliteStateStore (a table keyed by (object, key)) and in memory by MemStateStore.
//
// Writes are visible to later reads at once (read-your-writes inside the caller's
// transaction). Keys compare as unsigned byte strings.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "codec/vertex.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::store {

using codec::ObjectId;

class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual Result<std::optional<Bytes>> Get(const ObjectId& object, ByteView key) = 0;
  virtual Status Put(const ObjectId& object, ByteView key, ByteView value) = 0;
  // Put of a key the caller knows is absent, from the store and from this transaction's
  // writes alike (a key named by the id of the vertex being applied, written once). The same
  // as Put, except that a store may then turn a Delete of it in the same transaction into no
  // write at all. By default, Put.
  virtual Status PutNew(const ObjectId& object, ByteView key, ByteView value) {
    return Put(object, key, value);
  }
  virtual Status Delete(const ObjectId& object, ByteView key) = 0;
  // Calls fn for every entry whose key starts with prefix, in key order, until fn returns
  // false.
  virtual Status Scan(const ObjectId& object, ByteView prefix,
                      const std::function<bool(ByteView key, ByteView value)>& fn) = 0;
  // Like Scan, but starts at the first entry whose key is >= `from`: a seek, so a caller can
  // skip over a run of entries it does not need to read.
  // REQUIRES: `from` starts with `prefix`.
  virtual Status ScanFrom(const ObjectId& object, ByteView prefix, ByteView from,
                          const std::function<bool(ByteView key, ByteView value)>& fn) = 0;
};

class MemStateStore final : public StateStore {
 public:
  Result<std::optional<Bytes>> Get(const ObjectId& object, ByteView key) override;
  Status Put(const ObjectId& object, ByteView key, ByteView value) override;
  Status Delete(const ObjectId& object, ByteView key) override;
  Status Scan(const ObjectId& object, ByteView prefix,
              const std::function<bool(ByteView key, ByteView value)>& fn) override;
  Status ScanFrom(const ObjectId& object, ByteView prefix, ByteView from,
                  const std::function<bool(ByteView key, ByteView value)>& fn) override;

 private:
  std::map<std::pair<ObjectId, Bytes>, Bytes> entries_;
};

}  // namespace topo::store
