// Apps: blueprints defined outside the engine, with projectors of their own. An app (the
// team chat, src/apps/chat, is the first) registers a blueprint whose `log` fields carry the
// app's own entries, encoded and checked by the app, and a projector that turns each entry
// into rows of the app's tables ("proj_<app>_*", so Replica::ProjectionDump and
// Fingerprint cover them). The engine does everything else: signatures, causal order,
// group ACL checks, sealing under the group's epoch key, sync.
//
// What a projector must guarantee, as the built-in CRDTs do (object/crdt.h): the rows it
// leaves depend only on the set of entries applied, never on their order. Entries of one
// object arrive in causal order except when content waits for an epoch key (it is applied
// when the key arrives, after later content that was readable), and concurrent entries in
// any order; so a projector writes facts keyed by vertex id and resolves conflicts in SQL
// (last writer by (created_at, vertex id), tombstones that win whenever they arrive).
// Its writes run in the ingest transaction: a failure rolls the whole batch back, so it
// must fail only on store errors, never on odd input (CheckEntry rejects that first).
//
// Registration is process-wide and happens once at start-up, before any Replica opens (a
// replica that meets an unknown blueprint rejects the object). Not thread-safe against
// concurrent registration; lookups after it are.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/group.h"
#include "codec/vertex.h"
#include "crypto/crypto.h"
#include "store/projection.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::object {

struct Blueprint;

// Who wrote an entry, as the ACL state at the vertex's group refs says (so every replica
// gives a projector the same context for the same vertex, in any order).
struct AppContext {
  codec::ObjectId object;
  std::optional<codec::ObjectId> group;  // the workspace the object belongs to
  codec::VertexId vertex;
  uint64_t created_at = 0;
  crypto::PublicKey device;                 // the signing device
  std::optional<crypto::PublicKey> user;    // its user in the group (nullopt outside groups)
  codec::Role role = codec::Role::kMember;  // the user's role there then
  uint32_t field = 0;
  // OnCreate only: the genesis params (what CreateObject was given; CheckParams passed them).
  ByteView params = {};
  // Set when Replica::RebuildProjections applies the entry again (it was applied once
  // before): the app's derived tables are being rewritten, and a local record of arrival
  // (a journal) must not get a second row.
  bool rebuild = false;
};

class AppProjector {
 public:
  virtual ~AppProjector() = default;
  // Statements that create the app's tables, indexes and triggers ("IF NOT EXISTS"); run
  // when a replica opens.
  virtual std::vector<std::string> Schema() const = 0;
  // The version of what Schema() makes and the projector fills. A replica records, per app
  // blueprint, the version its tables were made with (table `meta`, key
  // "app_schema:<blueprint>"; none recorded counts as 0). When a replica opens a database
  // whose record is older and that holds vertices, it rebuilds the app's tables at open, in
  // one transaction, before Schema() runs: RebuildBegin, then Schema(), every entry applied
  // again (Replica::RebuildProjections), then RebuildEnd; then it records this version. A
  // database with no vertex just records it. Raise it when Schema() or the projection
  // changes in a way an existing database must not keep.
  virtual int SchemaVersion() const { return 0; }
  // The rebuild (Replica::RebuildProjections, and a migration at open): statements run
  // first, in the rebuild's transaction. They set aside what must outlive the derived
  // tables (numbers that local tables refer to), then drop the derived tables (Schema()
  // makes them again right after, as this version has them). They must work on any older
  // version's tables, and on a database where the app's tables do not exist yet. Tables
  // that record local facts (read markers, a journal of arrival) stay; the projector, told
  // ctx.rebuild, writes no second row to them. An app whose list is empty has no rebuild:
  // RebuildProjections leaves its tables alone.
  virtual std::vector<std::string> RebuildBegin() const { return {}; }
  // Run after every entry was applied again and BeforeCommit ran: put back what
  // RebuildBegin set aside, and drop what it made.
  virtual std::vector<std::string> RebuildEnd() const { return {}; }
  // Ok when `entry` is a well-formed entry for log field `field`; otherwise Rejected with a
  // reason. An entry that fails is skipped, the same way on every replica that reads it.
  virtual Status CheckEntry(uint32_t field, ByteView entry) const = 0;
  // Ok when `params` may be an object's genesis params (Replica::CreateObject's `params`);
  // otherwise Rejected with a reason, and the genesis is rejected. By default: none.
  virtual Status CheckParams(ByteView params) const {
    return params.empty() ? Status::Ok() : Status::Rejected("this blueprint takes no params");
  }
  // The object was created (its genesis applied); ctx.params holds its params.
  virtual Status OnCreate(const AppContext& ctx, store::ProjectionSink& sink) const = 0;
  // A checked entry of a log field, applied once per vertex.
  virtual Status OnEntry(const AppContext& ctx, ByteView entry,
                         store::ProjectionSink& sink) const = 0;
  // Called once before the commit of each transaction in which OnCreate or OnEntry ran,
  // inside it: for work cheaper done once per transaction than once per entry (what is
  // pending must be kept in the app's tables, not in the projector, which replicas share).
  // The tables after it must be as if each entry had done its part. By default nothing.
  virtual Status BeforeCommit(store::ProjectionSink& sink) const {
    (void)sink;
    return Status::Ok();
  }
};

// Adds an app blueprint (its `app` set). A second registration of the same name is a no-op
// when the fields are equal, else AlreadyExists; a built-in name is AlreadyExists too.
Status RegisterBlueprint(const Blueprint& blueprint);
// The registered app blueprints, in registration order (pointers stay valid).
std::vector<const Blueprint*> AppBlueprints();

}  // namespace topo::object
