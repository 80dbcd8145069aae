// ObjectEngine: the object layer's part of the ingest pipeline (graph::Applier). It checks a
// vertex against its object's blueprint and applies it to the object's CRDT state, then
// runs the projector, which mirrors each changed field into the object_values table.
//
// Groups (docs/design/groups.md): a group object's ACL operations are checked with the
// GroupIndex of the group; a vertex of an object inside a group must name group vertices in
// its refs, be made by a member device in the ACL state there, and seal its content under
// the current epoch. Content is opened with the keys sealed to this device (SetLocalDevice);
// content that cannot be opened yet waits in a per-object queue and is applied when a key
// arrives (the CRDTs apply in any order, so readable content never waits behind it).
//
// State layout in the StateStore, per object:
//   0x00 'b'            -> blueprint name (written by the genesis vertex)
//   0x00 'g'            -> the group the object belongs to (objects inside a group)
//   0x00 'G' be64(depth) id -> the raw vertex (group objects: every vertex, to rebuild the
//                          GroupIndex)
//   0x00 'P' be64(depth) id -> the raw vertex (content waiting for a key)
//   0x00 'Q' object     -> "" (in a group's namespace: an object of it has queued content)
//   0x00 'U' id         -> why the content of that vertex cannot be read (never applied)
//   'F' varint(field)   -> prefix of that field's CRDT entries (object/crdt.h)
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "codec/object_payload.h"
#include "graph/ingest.h"
#include "object/blueprint.h"
#include "object/group_index.h"
#include "object/group_keys.h"
#include "store/projection.h"
#include "store/state_store.h"

namespace topo::object {

Bytes FieldPrefix(uint32_t field);

// The projector: pure functions from rendered values to projection writes. Rows of
// object_values are keyed by path: the field name, or for a map field, the field name and
// one escaped key ("votes/alice"), so a change to one key rewrites one row.
std::vector<store::ProjectionWrite> ProjectField(const codec::ObjectId& object,
                                                 std::string_view path,
                                                 const nlohmann::json& value);
std::vector<store::ProjectionWrite> ProjectRemoval(const codec::ObjectId& object,
                                                   std::string_view path);
std::vector<store::ProjectionWrite> ProjectGenesis(const codec::ObjectId& object,
                                                   std::string_view blueprint);

class ObjectEngine final : public graph::Applier {
 public:
  ObjectEngine(store::StateStore& state, store::ProjectionSink& sink)
      : state_(state), sink_(sink) {}

  Status Validate(const codec::Vertex& v, std::span<const graph::VertexMeta> parents) override;
  Status Apply(const codec::Vertex& v) override;

  // The blueprint of an applied object, or NotFound.
  Result<const Blueprint*> BlueprintOf(const codec::ObjectId& object);
  // The whole state of an object as JSON: {"field": value, ...}.
  Result<nlohmann::json> Render(const codec::ObjectId& object);
  // Writes every projection row of an object from its current state (the rows the
  // incremental projector keeps up to date). The caller deletes the old rows first.
  Status ProjectAll(const codec::ObjectId& object);

  // ---- groups ----
  // The device this replica acts as: content sealed to `box` is readable here. Without it,
  // the engine checks and stores group vertices but reads no content (a blind relay).
  // `box` must outlive the engine.
  void SetLocalDevice(const crypto::PublicKey& device, const crypto::BoxKey* box);
  // Reads an applied vertex the engine needs again (a parent's refs). Set by the Replica.
  void SetVertexSource(std::function<Result<Bytes>(const codec::VertexId&)> get_raw);
  // The index of a group applied here; NotFound when `group` is not one.
  Result<GroupIndex*> GroupIndexOf(const codec::ObjectId& group);
  // The group an object belongs to (a group belongs to itself: its content is sealed too),
  // or nullopt. NotFound when the object is unknown.
  Result<std::optional<codec::ObjectId>> GroupOf(const codec::ObjectId& object);
  // The epoch keys this device holds for a group (empty when none).
  const Keyring& KeyringOf(const codec::ObjectId& group);
  // Vertices of `object` whose content waits for a key.
  Result<uint64_t> QueuedCount(const codec::ObjectId& object);
  // Drops every in-memory cache (indexes, keyrings, blueprints). The owner calls it when a
  // transaction rolls back, since the caches may hold what it wrote.
  void ForgetCaches();
  // Runs the app projector of `v`'s object again, as Apply did for it: OnCreate for the
  // genesis of an app object, OnEntry for a log entry (its content opened with the keys held
  // now, and checked), with the same AppContext and ctx.rebuild set. Touches no CRDT state.
  // Content that Apply queued (no key yet) or skipped (unreadable, not fitting) is skipped
  // again: the projector sees the entries Apply gave it, once each. For
  // Replica::RebuildProjections; a vertex that is no app's is a no-op.
  Status ReprojectApp(const codec::Vertex& v);
  // Writes the projection rows this transaction's ops changed, then runs
  // AppProjector::BeforeCommit of each app whose projector ran in it. The owner calls it
  // before every commit (before the state store writes its overlay); after a rollback,
  // ForgetCaches forgets both.
  Status BeforeCommit();

 private:
  Status ValidateGroupVertex(const codec::Vertex& v);
  Status ValidateContent(const codec::Vertex& v, const codec::ObjectId& group);
  Status ApplyGroupVertex(const codec::Vertex& v);
  // Applies a content op of an object in a group: opens it, or queues it.
  Status ApplyContent(const codec::Vertex& v, const codec::ObjectId& group);
  // Applies a decoded op payload (plaintext) to an object's CRDT state and projection.
  Status ApplyPlain(const codec::Vertex& v, ByteView payload, bool from_envelope);
  Status MarkUnreadable(const codec::Vertex& v, std::string_view why);
  // The op in a plaintext payload of `bp`'s object if it fits the field (and the app's
  // checks, for a log entry); otherwise the reason it does not (Apply and ReprojectApp).
  struct CheckedOp {
    codec::OpPayload payload;
    const codec::LogAppend* entry = nullptr;  // into payload; set for a log entry
  };
  static Status CheckOp(const Blueprint& bp, ByteView payload, CheckedOp& out);
  // What an app projector is told about `v` of an object in `group` (nullopt: none).
  Result<AppContext> AppContextOf(const codec::Vertex& v,
                                  const std::optional<codec::ObjectId>& group, uint32_t field);
  // Applies queued content of every object of `group` that a key now opens.
  Status ReplayQueued(const codec::ObjectId& group);
  Result<std::vector<codec::VertexId>> GroupRefsOf(const codec::VertexId& id);
  Status AbsorbKeys(const codec::ObjectId& group, bool* gained);
  // Notes the projection rows that `effects` of an op on `field` (number `field_index`) of
  // `object` touched; WriteDirtyRows rewrites them.
  Status Project(const codec::ObjectId& object, uint32_t field_index, const FieldDecl& field,
                 const std::vector<Effect>& effects);
  // Rewrites each noted row from the current state, once, in (object, field, key) order.
  Status WriteDirtyRows();
  // Writes every row of one field from the current state (a map: one per visible key).
  Status ProjectWhole(const codec::ObjectId& object, uint32_t field_index, const FieldDecl& field);
  Status Write(const std::vector<store::ProjectionWrite>& writes);

  // Runs the app's OnCreate / OnEntry, noting it for BeforeCommit.
  Status OnCreate(const AppProjector& app, const AppContext& ctx);
  Status OnEntry(const AppProjector& app, const AppContext& ctx, ByteView entry);

  store::StateStore& state_;
  store::ProjectionSink& sink_;
  // A projection row that an op of the current transaction may have changed: a map field's
  // top-level key, or (whole) a non-map field's one row or every key of a map field. Each is
  // rendered once, at BeforeCommit, however many ops touched it: a set re-rendered after
  // every op that changed it cost O(set size) per op.
  struct DirtyRow {
    codec::ObjectId object;
    uint32_t field = 0;
    bool whole = false;
    std::string key;
    auto operator<=>(const DirtyRow&) const = default;
  };
  std::set<DirtyRow> dirty_rows_;
  // The apps whose projectors ran in the current transaction (a handful at most).
  std::vector<const AppProjector*> apps_this_txn_;
  std::unordered_map<codec::ObjectId, const Blueprint*, FixedBytesHash> blueprints_;
  // nullopt = not in a group.
  std::unordered_map<codec::ObjectId, std::optional<codec::ObjectId>, FixedBytesHash> group_of_;
  std::unordered_map<codec::ObjectId, std::unique_ptr<GroupIndex>, FixedBytesHash> groups_;
  std::unordered_map<codec::ObjectId, Keyring, FixedBytesHash> keyrings_;
  // Group refs of recently applied vertices of objects in groups (parents ask for them).
  std::unordered_map<codec::VertexId, std::vector<codec::VertexId>, FixedBytesHash> refs_cache_;
  std::optional<crypto::PublicKey> device_;
  const crypto::BoxKey* box_ = nullptr;
  std::function<Result<Bytes>(const codec::VertexId&)> get_raw_;
};

}  // namespace topo::object
