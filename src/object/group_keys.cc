#include "object/group_keys.h"

#include <algorithm>

#include "util/encoding.h"

namespace topo::object {

Result<codec::DeviceKeyShare> ShareKey(const GroupState& state, const PublicKey& device,
                                       const crypto::SecretBytes& key) {
  auto it = state.devices().find(device);
  if (it == state.devices().end())
    return Status::InvalidArgument("device " + HexEncodeShort(device) +
                                   " is not a member device of the group");
  if (key.size() != codec::kEpochKeyBytes) return Status::Internal("an epoch key is 32 bytes");
  Bytes sealed = crypto::Seal(it->second.box, key.view());
  if (sealed.size() != codec::kSealedKeyBytes) return Status::Internal("sealed key size");
  return codec::DeviceKeyShare{device, codec::SealedKey::FromView(sealed)};
}

Result<NewEpochKey> MakeEpochKey(const GroupState& state, const std::set<PublicKey>& devices) {
  NewEpochKey out;
  out.key = crypto::SecretBytes::Random(codec::kEpochKeyBytes);
  for (const PublicKey& d : devices) {  // std::set: already ascending
    TOPO_ASSIGN_OR_RETURN(auto share, ShareKey(state, d, out.key));
    out.shares.push_back(share);
  }
  return out;
}

void Keyring::Absorb(const GroupState& state, const PublicKey& device, const crypto::BoxKey& box) {
  for (const auto& [epoch, e] : state.epochs()) {
    auto it = e.shares.find(device);
    if (it == e.shares.end()) continue;
    for (const codec::SealedKey& sealed : it->second) Try(epoch, sealed, box);
  }
}

void Keyring::Try(const codec::VertexId& epoch, const codec::SealedKey& sealed,
                  const crypto::BoxKey& box) {
  if (!tried_.emplace(epoch, sealed).second) return;
  auto key = box.Open(sealed.view());
  if (!key.ok() || key->size() != codec::kEpochKeyBytes) return;
  Add(epoch, std::move(key).value());
}

void Keyring::Add(const codec::VertexId& epoch, crypto::SecretBytes key) {
  auto& list = keys_[epoch];
  for (const auto& k : list)
    if (crypto::ConstantTimeEqual(k.view(), key.view())) return;
  list.push_back(std::move(key));
}

const crypto::SecretBytes* Keyring::KeyFor(const codec::VertexId& epoch) const {
  auto it = keys_.find(epoch);
  return it == keys_.end() || it->second.empty() ? nullptr : &it->second.front();
}

const std::vector<crypto::SecretBytes>* Keyring::Candidates(const codec::VertexId& epoch) const {
  auto it = keys_.find(epoch);
  return it == keys_.end() ? nullptr : &it->second;
}

Result<Bytes> SealContent(const codec::Vertex& v, const codec::VertexId& epoch,
                          const crypto::SecretBytes& key, ByteView plaintext) {
  codec::Envelope e;
  e.epoch = epoch;
  e.nonce = crypto::RandomFixed<24>();
  TOPO_ASSIGN_OR_RETURN(e.ciphertext,
                        crypto::AeadEncrypt(key, e.nonce, codec::EnvelopeAad(v), plaintext));
  return codec::EncodeEnvelope(e);
}

Result<Bytes> OpenContent(const codec::Vertex& v, const Keyring& keyring, codec::VertexId* epoch) {
  auto e = codec::DecodeEnvelope(v.payload);
  if (!e.ok()) return Status::Corruption(e.status().message());
  if (epoch) *epoch = e->epoch;
  const auto* candidates = keyring.Candidates(e->epoch);
  if (!candidates || candidates->empty())
    return Status::NotFound("no key for epoch " + HexEncodeShort(e->epoch));
  Bytes aad = codec::EnvelopeAad(v);
  for (const auto& key : *candidates) {
    auto plain = crypto::AeadDecryptContent(key, e->nonce, aad, e->ciphertext);
    if (plain.ok()) return plain;
  }
  return Status::Corruption("envelope: does not open under any key held for epoch " +
                            HexEncodeShort(e->epoch));
}

}  // namespace topo::object
