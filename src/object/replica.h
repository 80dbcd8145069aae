// Replica: one device's copy of its objects. Ties the layers together: the SQLite database
// (store), the ingest pipeline (graph) and the object engine (object). This is the C++
// embedding surface for now; the node and the api layers build on it.
//
// Guarantees:
//  - Ingest() applies vertices in batched transactions: after a crash, every vertex of a
//    batch is fully applied (state, projections, frontier) or absent.
//  - Every call that fails leaves the database as it was before the call.
//  - Local writes take the object's current frontier as parents and a created_at later than
//    every parent's (and no earlier than the clock), so they always validate.
// Thread-safety: a Replica is used from one thread at a time; Ingest() uses worker threads
// internally for signature checks.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/ingest.h"
#include "object/engine.h"
#include "store/database.h"
#include "store/sqlite_graph_store.h"
#include "store/sqlite_projection.h"
#include "store/sqlite_state_store.h"
#include "util/clock.h"

namespace topo::object {

struct ReplicaOptions {
  const Clock* clock = &SystemClock::Instance();
  unsigned verify_threads = 0;    // 0 = one per core
  size_t batch_size = 4096;       // vertices per transaction in Ingest()
  bool create_if_missing = true;  // false: opening a path with no database is NotFound
  // This device's box key (from the keystore): group content sealed to it is readable here.
  // Without it the replica checks, stores and forwards group vertices and reads no content.
  // Must outlive the replica.
  const crypto::BoxKey* box = nullptr;
  // Makes the 16-byte nonce of each new object's genesis; unset means random. The simulator
  // sets it so that one seed gives the same object ids, and so the same run, every time.
  std::function<FixedBytes<16>()> genesis_nonce;
  // The store's caches (store/sqlite_graph_store.h, store/sqlite_state_store.h); a
  // low-memory node makes them smaller.
  size_t meta_cache_entries = store::SqliteGraphStore::kDefaultMetaCacheEntries;
  store::StateCacheOptions state_cache;
  // After a commit that brings the vertices applied since the last time to this many, the
  // engine's in-memory caches are dropped (ObjectEngine::ForgetCaches; they refill from the
  // store as needed). Bounds them for a low-memory node; 0: never (they bound themselves).
  size_t forget_engine_caches_every = 0;
};

struct InviteOptions {
  codec::Role role = codec::Role::kMember;
  uint64_t max_uses = 0;    // 0 = unlimited
  uint64_t expires_at = 0;  // ms since the Unix epoch; 0 = never
  codec::InvitePurpose purpose = codec::InvitePurpose::kMember;
  std::vector<std::string> addresses;  // host:port where the inviter can be reached
};

struct IngestReport {
  graph::IngestStats stats;
  std::vector<std::string> problems;  // the first few rejection / invalid reasons
};

// A vertex a commit applied here (what set reconciliation indexes).
struct AppliedVertex {
  codec::ObjectId object;
  codec::VertexId id;
  uint64_t created_at = 0;
};

// What Replica::RebuildProjections rewrote.
struct RebuildReport {
  uint64_t objects = 0;           // whose generic projection (object_values) was rewritten
  uint64_t vertices = 0;          // read to apply the apps' entries again (0: no app rebuilt)
  std::vector<std::string> apps;  // the app blueprints whose tables were rebuilt
};

struct ObjectInfo {
  codec::ObjectId id;
  std::string blueprint;
  uint64_t vertices = 0;
  size_t heads = 0;
};

class Replica {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory one). The
  // replica signs its local writes with `key`.
  static Result<std::unique_ptr<Replica>> Open(const std::string& path, crypto::SigningKey key,
                                               ReplicaOptions options = {});

  ~Replica();
  const crypto::PublicKey& author() const { return key_.public_key(); }

  // ---- local writes ----
  Result<codec::ObjectId> CreateObject(std::string_view blueprint);
  // An object inside `group`: its vertices name the group's heads in refs and their content
  // is sealed under the group's current epoch. This device must be a member holding the key.
  // `params`: the genesis params, for an app blueprint whose projector accepts them
  // (AppProjector::CheckParams); none for the built-in ones.
  Result<codec::ObjectId> CreateObject(std::string_view blueprint, const codec::ObjectId& group,
                                       ByteView params = {});
  // Makes, signs and applies one operation on field `field` of `object` (sealed when the
  // object is a group or inside one).
  Result<codec::VertexId> Submit(const codec::ObjectId& object, uint32_t field,
                                 const codec::CrdtOp& op);
  // Resolves a field by name (error names the fields that exist).
  Result<uint32_t> FieldOf(const codec::ObjectId& object, std::string_view field);
  Result<const Blueprint*> BlueprintOf(const codec::ObjectId& object);
  // Read access for the op builders (MakeMvSet, MakeSetRemove, ...).
  store::StateStore& state() { return state_; }

  // ---- groups (docs/design/groups.md) ----
  // `self` is this device's certificate (store::DeviceIdentity::cert): its device key must
  // be this replica's signing key.
  Result<codec::ObjectId> CreateGroup(const codec::DeviceCertificate& self, bool history_visible);
  // Writes an invite and returns its link (the secret is in the link only).
  Result<codec::InviteLink> Invite(const codec::ObjectId& group, const InviteOptions& options);
  // Writes this device's join. When the group is not here yet, the join waits (blocked)
  // for it; importing the group's vertices completes it.
  Result<codec::VertexId> AcceptInvite(const codec::InviteLink& link,
                                       const codec::DeviceCertificate& self);
  Result<codec::VertexId> RevokeInvite(const codec::ObjectId& group, const codec::VertexId& invite);
  Result<codec::VertexId> SetRole(const codec::ObjectId& group, const crypto::PublicKey& user,
                                  codec::Role role);
  Result<codec::VertexId> TransferOwnership(const codec::ObjectId& group,
                                            const crypto::PublicKey& user);
  // Removes a user (and all its devices) and starts a new epoch sealed to the rest.
  Result<codec::VertexId> RemoveMember(const codec::ObjectId& group, const crypto::PublicKey& user,
                                       bool bar);
  Result<codec::VertexId> Leave(const codec::ObjectId& group);
  // Adds a user without an invite (add-member; only admins may): `certs` are the user's
  // device certificates, typically taken from another group both belong to
  // (GroupDevice::cert). Seals the current epoch key to each device, and every earlier key
  // held here when the group shows history to new members.
  Result<codec::VertexId> AddMember(const codec::ObjectId& group,
                                    std::vector<codec::DeviceCertificate> certs, codec::Role role);
  Result<codec::VertexId> RemoveDevice(const codec::ObjectId& group,
                                       const crypto::PublicKey& device);
  Result<codec::VertexId> Rotate(const codec::ObjectId& group);
  // Seals the keys this device holds to member devices that lack them: the current epoch's,
  // and every earlier one when the group shows history to new members. When concurrent
  // removals left the group without a current epoch (GroupState::has_current_epoch), starts
  // a new one instead (a rotate). nullopt when there was nothing to do.
  Result<std::optional<codec::VertexId>> HealKeys(const codec::ObjectId& group);
  // HealKeys for every group this device is a member of; the vertices it wrote.
  Result<std::vector<codec::VertexId>> HealAllGroups();
  // ---- device linking (docs/design/groups.md) ----
  // A second device of a user joins a group with a device-link invite (Invite with
  // purpose kDevice) and a certificate of its own; one of the user's devices then certifies
  // it. This is that step: for every device of this device's user that is not certified in
  // some group here, writes add-device in every group where this device is a member and
  // that device is not certified (nor removed), carrying a certificate signed by `user`,
  // the user's seed sealed to the device, and every epoch key of the group held here.
  // Only groups where this device acts for `user` count. Returns the vertices written
  // (none when nothing waits).
  Result<std::vector<codec::VertexId>> CertifyLinkedDevices(const crypto::SigningKey& user);
  struct UserHandover {
    crypto::SigningKey user;
    codec::DeviceCertificate cert;  // signed by `user`, for this device
  };
  // The user identity another device handed to this one in an applied add-device (its seed
  // sealed to `box`), if it is not `current_user`. nullopt when there is none.
  Result<std::optional<UserHandover>> FindUserHandover(const crypto::BoxKey& box,
                                                       const crypto::PublicKey& current_user);
  // The ACL state at the group's current heads.
  Result<GroupState> GroupStateOf(const codec::ObjectId& group);
  // Ids of the groups applied here.
  Result<std::vector<codec::ObjectId>> ListGroups();

  // ---- entitlement: who may receive an object's vertices from this replica ----
  // An open object (in no group): any device. A group object, and every object inside the
  // group: the group's current member devices, as the ACL state at the group's heads here
  // says (GroupState::devices(): every device of every member user, also a linked device
  // not yet certified, since epoch keys are sealed to all of them). A device that was
  // removed, left or was never let in may not: not even what it once read (it keeps what
  // it holds; it is served nothing more). A pending joiner, whose join is written but not
  // applied here, is not a member yet: see MayReadAsJoiner.
  // NotFound when `object` is not applied here (nothing to serve).
  Result<bool> MayRead(const crypto::PublicKey& device, const codec::ObjectId& object);
  // A pending joiner: `join` (what its join carries: codec::MakeJoinOp) proves that
  // `device` holds the secret of an invite of `group` that is open here now (exists, not
  // revoked, used up or expired, the certificate and proof verify, the device is neither a
  // member nor removed). Such a device may read the group object itself, and nothing
  // inside the group: it needs the group's vertices for its join (which names the invite
  // as its parent) to apply, and once its join is applied here it is a member (MayRead).
  // The claim binds the certificate's device key, which must be `device` (the peer the
  // transport authenticated), so a copy of someone else's join proves nothing.
  // False when `group` is not a group applied here.
  Result<bool> MayReadAsJoiner(const crypto::PublicKey& device, const codec::ObjectId& group,
                               const codec::JoinOp& join);
  // A former member device: `device` held a key of `group` (an epoch was sealed or shared
  // to it) and is no longer one of its member devices (removed, or its user left). It may
  // read the group object itself, its signed membership operations, and nothing inside the
  // group: that is how it learns its own removal (else its client would go on showing,
  // and writing to, what it was taken out of). Its content stays sealed: every epoch after
  // the removal is sealed to the remaining devices only. A device a remove-device took out
  // (a lost or stolen device) is not served even this. False for an object that is not a
  // group applied here, or for a current member (MayRead covers it).
  Result<bool> MayReadAsFormerMember(const crypto::PublicKey& device, const codec::ObjectId& group);
  ObjectEngine& engine() { return engine_; }

  // ---- remote vertices ----
  Result<IngestReport> Ingest(std::vector<Bytes> raws);
  // The sequential stage alone, for vertices that already went through graph::Prepare (the
  // sync layer verifies on its own workers; benchmarks time apply apart from verify). One
  // transaction per options.batch_size items.
  Result<IngestReport> IngestPrepared(std::vector<graph::Prepared> prepared);

  // ---- reads ----
  Result<nlohmann::json> Show(const codec::ObjectId& object);
  Result<std::vector<ObjectInfo>> ListObjects();
  // Applied vertices of an object in the linear order (depth, id).
  Status ForEachInOrder(const codec::ObjectId& object,
                        const std::function<bool(const graph::VertexMeta&, ByteView)>& fn);
  Result<std::vector<codec::VertexId>> Heads(const codec::ObjectId& object);
  // A digest of everything that must converge: every object's state, frontier and the
  // projection tables. Two replicas with the same vertices have the same fingerprint.
  Result<std::string> Fingerprint();
  // The projection tables as deterministic text (tests compare these across replicas).
  Result<std::string> ProjectionDump();
  // Rewrites the projections in one transaction (after a projector change; tests check it
  // equals the incremental rows): deletes the generic projection and writes it again from
  // object state, then rebuilds the tables of every app that has a rebuild
  // (AppProjector::RebuildBegin): its derived tables dropped and made again, every applied
  // vertex read in arrival order, and each entry that reached the projector applied again
  // through the engine (ObjectEngine::ReprojectApp: the same context, content opened with
  // the keys held now). What the app keeps local (read markers, its journal) stays as it
  // was. Without a box key (ReplicaOptions::box) the apps are left alone: sealed content
  // could not be opened, and its rows would be lost. `progress`, when set, is called with
  // (vertices read, total) every 16,384 vertices and at the end.
  Result<RebuildReport> RebuildProjections(
      const std::function<void(uint64_t done, uint64_t total)>& progress = nullptr);
  // The app blueprints whose tables Open rebuilt because their recorded schema version was
  // older than AppProjector::SchemaVersion (empty when none was).
  const std::vector<std::string>& migrated_apps() const { return migrated_apps_; }

  // ---- offline exchange ----
  // Writes the applied vertices (of one object, or all) to a bundle, parents first.
  Result<uint64_t> ExportBundle(const std::string& path,
                                const std::optional<codec::ObjectId>& object = std::nullopt);
  Result<IngestReport> ImportBundle(const std::string& path);

  // Called after every successful commit with the vertices it applied here (local writes,
  // ingested ones and the ones they unblocked), in apply order; never for a transaction
  // that rolled back. One observer at a time; an empty function removes it.
  void SetAppliedObserver(std::function<void(std::span<const AppliedVertex>)> observer);

  store::Database& database() { return *db_; }
  store::SqliteGraphStore& graph_store() { return graph_; }

 private:
  // Streams vertices through ApplyBatch and the ingestor (object/ingest_pipeline.h).
  friend class IngestPipeline;

  Replica(std::unique_ptr<store::Database> db, crypto::SigningKey key, ReplicaOptions options);
  FixedBytes<16> GenesisNonce() {
    return options_.genesis_nonce ? options_.genesis_nonce() : crypto::RandomFixed<16>();
  }
  // Applies one locally made vertex inside the caller's transaction.
  Result<codec::VertexId> ApplyLocal(codec::Vertex v);
  // Signs and applies a group operation on the group's current heads, in its own
  // transaction. `make_keys`, when set, receives the state and the unsigned vertex and
  // returns the new epoch's shares (ops that start an epoch).
  Result<codec::VertexId> WriteGroupOp(
      const codec::ObjectId& group, codec::GroupOp op,
      const std::function<Result<std::vector<codec::DeviceKeyShare>>(
          const GroupState&, const GroupVertex&)>& make_keys = nullptr);
  // At open: the apps whose recorded schema version is older than theirs get their tables
  // rebuilt (AppProjector::SchemaVersion); then every app's Schema() runs.
  Status MigrateApps();
  // The apps' part of RebuildProjections, inside the caller's transaction.
  Status RebuildApps(const std::vector<const Blueprint*>& apps,
                     const std::function<void(uint64_t, uint64_t)>& progress,
                     RebuildReport& report);
  // Makes the blocked vertices the ingestor holds in memory durable (inside a transaction).
  Status FlushBlocked();
  // Header fields of a new vertex on `object`'s heads: parents, depth, created_at, author.
  Status FillHeader(codec::Vertex& v, const codec::ObjectId& object);
  // For content of an object in `group` (or of the group itself): refs, then the payload
  // sealed under the current epoch.
  Status SealForGroup(codec::Vertex& v, const codec::ObjectId& group, ByteView plaintext);
  // Applies one batch of prepared vertices in one transaction, adding to `report`.
  Status ApplyBatch(std::vector<graph::Prepared>& batch, IngestReport& report, bool last);

  std::unique_ptr<store::Database> db_;
  crypto::SigningKey key_;
  ReplicaOptions options_;
  store::SqliteGraphStore graph_;
  store::SqliteStateStore state_;
  store::SqliteProjectionSink sink_;
  ObjectEngine engine_;
  // The ingestor's applier: the engine, noting what each transaction applied for the
  // applied-vertex observer.
  struct Recorder final : graph::Applier, store::TxnParticipant {
    explicit Recorder(ObjectEngine& e) : engine(e) {}
    Status Validate(const codec::Vertex& v, std::span<const graph::VertexMeta> parents) override {
      return engine.Validate(v, parents);
    }
    Status Apply(const codec::Vertex& v) override;
    Status BeforeCommit() override { return engine.BeforeCommit(); }
    void AfterRollback() override { pending.clear(); }
    void AfterCommit() override;
    ObjectEngine& engine;
    size_t forget_every = 0;  // ReplicaOptions::forget_engine_caches_every
    size_t applied_since_forget = 0;
    std::function<void(std::span<const AppliedVertex>)> observer;
    std::vector<AppliedVertex> pending;
  };
  Recorder recorder_;
  graph::Ingestor ingestor_;
  // Drops the engine's in-memory caches when a transaction rolls back.
  struct CacheGuard final : store::TxnParticipant {
    CacheGuard(ObjectEngine& e, graph::Ingestor& i) : engine(e), ingestor(i) {}
    Status BeforeCommit() override { return Status::Ok(); }
    void AfterRollback() override {
      engine.ForgetCaches();
      ingestor.DiscardBuffer();
    }
    ObjectEngine& engine;
    graph::Ingestor& ingestor;
  };
  CacheGuard cache_guard_;
  std::vector<std::string> migrated_apps_;
};

}  // namespace topo::object
