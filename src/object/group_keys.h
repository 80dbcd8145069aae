// Epoch keys: making a new epoch (a random key sealed to each remaining device), opening the
// shares addressed to this device, and sealing / opening content envelopes.
//
// Keys live in memory only (SecretBytes: locked, wiped). They are opened again from the
// sealed shares stored in the group's vertices whenever a replica opens, so the database
// never holds an epoch key in the clear.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "codec/group.h"
#include "crypto/crypto.h"
#include "object/group_state.h"

namespace topo::object {

struct NewEpochKey {
  crypto::SecretBytes key;
  std::vector<codec::DeviceKeyShare> shares;  // sorted by device, as the encoding requires
};

// A fresh random key sealed to each of `devices` (which must be devices of `state`).
Result<NewEpochKey> MakeEpochKey(const GroupState& state, const std::set<PublicKey>& devices);

// Seals existing keys for `device`: the share-keys a member writes to heal a device that
// missed a rotation, or to hand a joiner the history.
Result<codec::DeviceKeyShare> ShareKey(const GroupState& state, const PublicKey& device,
                                       const crypto::SecretBytes& key);

// The epoch keys one device holds for one group.
class Keyring {
 public:
  // Opens every share addressed to `device` that is not open yet. A share that does not open
  // (sealed to another key, or garbage) is ignored: it cannot be this device's.
  void Absorb(const GroupState& state, const PublicKey& device, const crypto::BoxKey& box);
  // Opens one share of `epoch`, unless tried before; ignored when it does not open.
  void Try(const codec::VertexId& epoch, const codec::SealedKey& sealed, const crypto::BoxKey& box);
  // How many nodes of the group's index have been scanned for shares into this keyring
  // (ObjectEngine::AbsorbKeys scans each node once).
  size_t scanned_nodes() const { return scanned_nodes_; }
  void set_scanned_nodes(size_t n) { scanned_nodes_ = n; }
  // Adds a key this device made itself (it needs no share to itself to know it).
  void Add(const codec::VertexId& epoch, crypto::SecretBytes key);

  bool Has(const codec::VertexId& epoch) const { return keys_.count(epoch) > 0; }
  // The key to seal new content under: the first one opened for the epoch (the share in the
  // vertex that made the epoch comes first in fold order). nullptr when not held.
  const crypto::SecretBytes* KeyFor(const codec::VertexId& epoch) const;
  // Every candidate key for an epoch (a malicious member can seal a wrong key to us; the
  // envelope's tag says which key is right).
  const std::vector<crypto::SecretBytes>* Candidates(const codec::VertexId& epoch) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<codec::VertexId, std::vector<crypto::SecretBytes>> keys_;
  // Shares already tried, so Absorb is cheap when called after every group change.
  std::set<std::pair<codec::VertexId, codec::SealedKey>> tried_;
  size_t scanned_nodes_ = 0;
};

// Seals `plaintext` (the payload the vertex would carry in the clear) as an envelope bound
// to the vertex header: returns the envelope encoding, to be the vertex's payload. The
// header fields of `v` (everything but payload and signature) must be final.
Result<Bytes> SealContent(const codec::Vertex& v, const codec::VertexId& epoch,
                          const crypto::SecretBytes& key, ByteView plaintext);

// Opens the envelope in v.payload with the keyring. NotFound when no key of its epoch is
// held (the content waits for one); Corruption when the envelope does not decode or no held
// key opens it (the author sealed garbage, or a member gave us a key that is not the
// epoch's). Neither is a rejection of the vertex: what a replica can read depends on the
// keys it holds, and validity must not (the vertex is signed, so nobody but its author can
// have altered the ciphertext or the header).
Result<Bytes> OpenContent(const codec::Vertex& v, const Keyring& keyring,
                          codec::VertexId* epoch = nullptr);

}  // namespace topo::object
