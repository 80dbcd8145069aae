// GroupIndex: one group object's graph in memory, and the ACL state at any frontier of it.
//
// Groups are small next to the content they govern (members, invites, rotations: thousands
// of vertices, not millions), so the index holds every vertex of the group object — its id,
// depth, parents and, for the genesis and ACL operations, the decoded operation — and
// answers the question every content vertex asks: what is the ACL state at these group
// vertices? Answers are cached by frontier. A frontier of one vertex extends its parents'
// state by that vertex (it is last in linear order in its own past), so a group built one
// operation at a time costs one Apply per operation; only a frontier of several heads is
// folded from its genesis.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "object/group_state.h"
#include "util/bytes.h"

namespace topo::object {

class GroupIndex {
 public:
  explicit GroupIndex(const codec::ObjectId& group, size_t cache_entries = 256)
      : group_(group), cache_entries_(cache_entries) {}

  // Adds a vertex of the group object (any type). Its parents must have been added (the
  // ingest pipeline applies parents first). Adding a vertex twice is a no-op.
  // InvalidArgument when it is not a vertex of this group or a parent is unknown;
  // Rejected when a group vertex's payload does not decode.
  Status Add(const codec::Vertex& v);
  bool Contains(const codec::VertexId& id) const { return index_.count(id) > 0; }
  size_t size() const { return nodes_.size(); }

  // The ACL state at `frontier` (ids of vertices of this group; their union of pasts).
  // The pointer stays valid until the next At() or Add(). InvalidArgument when an id is not
  // in the index.
  struct Snapshot {
    GroupState state;
    std::vector<bool> past;  // by node index: is the node in the past of the frontier
    std::vector<std::pair<codec::VertexId, std::string>> skipped;
  };
  Result<const Snapshot*> At(std::span<const codec::VertexId> frontier);

  // True when `id` is in the past of `frontier` (inclusive). REQUIRES: both are in the index.
  Result<bool> InPast(std::span<const codec::VertexId> frontier, const codec::VertexId& id);
  // The same against a snapshot At() returned; false for an id not in the index.
  bool InPast(const Snapshot& snapshot, const codec::VertexId& id) const;

  // Calls fn(epoch, sealed) for every key share addressed to `device` in the ACL vertices
  // at node positions [from, size()), in the order they were added (parents first, so an
  // epoch's own vertex comes before any share of it), whether or not the fold gives the
  // vertex an effect: a key sealed in a vertex that a concurrent op made ineffective was
  // still given, and content sealed under it (valid in its own past) must be readable.
  // Returns size(), the next `from`.
  size_t ForEachShareTo(
      const crypto::PublicKey& device, size_t from,
      const std::function<void(const codec::VertexId&, const codec::SealedKey&)>& fn) const;

  // The heads of the group object (vertices with no child in the index), ascending.
  std::vector<codec::VertexId> Heads() const;

  const codec::ObjectId& group() const { return group_; }

 private:
  struct Node {
    codec::VertexId id;
    uint64_t depth = 0;
    std::vector<uint32_t> parents;
    std::optional<GroupVertex> acl;  // the genesis and ACL ops; unset for content
    bool has_child = false;
  };
  using Key = std::vector<codec::VertexId>;  // a sorted frontier
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  Result<std::shared_ptr<Snapshot>> Compute(const Key& key);
  // Which nodes are in the past of `node` (inclusive), by node index.
  std::vector<bool> PastOf(uint32_t node) const;
  Result<std::shared_ptr<Snapshot>> Lookup(const Key& key);
  void Remember(const Key& key, std::shared_ptr<Snapshot> s);

  codec::ObjectId group_;
  size_t cache_entries_;
  std::vector<Node> nodes_;
  std::unordered_map<codec::VertexId, uint32_t, FixedBytesHash> index_;
  // LRU of snapshots by frontier.
  std::list<Key> lru_;
  struct Entry {
    std::shared_ptr<Snapshot> snapshot;
    std::list<Key>::iterator pos;
  };
  std::unordered_map<Key, Entry, KeyHash> cache_;
  std::shared_ptr<Snapshot> last_;  // keeps At()'s answer alive
  Key last_key_;                    // its frontier: content vertices ask for one frontier
                                    // many times in a row
};

}  // namespace topo::object
