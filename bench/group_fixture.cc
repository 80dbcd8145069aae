#include "bench/group_fixture.h"

namespace topo::bench {
namespace {

crypto::Digest MemberSecret(uint64_t seed, unsigned index, std::string_view what) {
  std::string tag = "topo-bench member " + std::to_string(seed) + "/" + std::to_string(index) +
                    " " + std::string(what);
  return crypto::Hash("topo.bench.member", AsBytes(tag));
}

}  // namespace

Member::Member(crypto::SigningKey u, crypto::SigningKey k, crypto::BoxKey b)
    : user(std::move(u)), key(std::move(k)), box(std::move(b)) {
  cert = Check(codec::MakeDeviceCertificate(user, key.public_key(), box.public_key(), "bench", 1),
               "certificate");
}

Member::Member()
    : Member(crypto::SigningKey::Generate(), crypto::SigningKey::Generate(),
             crypto::BoxKey::Generate()) {}

Member::Member(uint64_t seed, unsigned index)
    : Member(Check(crypto::SigningKey::FromSeed(MemberSecret(seed, index, "user").view()), "key"),
             Check(crypto::SigningKey::FromSeed(MemberSecret(seed, index, "device").view()), "key"),
             Check(crypto::BoxKey::FromSecret(MemberSecret(seed, index, "box").view()), "key")) {}

std::unique_ptr<object::Replica> OpenAt(const std::string& path, const Member& m) {
  object::ReplicaOptions o;
  o.box = &m.box;
  return Check(object::Replica::Open(path, m.key.Clone(), o), "open " + path);
}

codec::ObjectId MakeGroup(object::Replica& owner, const std::vector<Member>& members,
                          bool history_visible) {
  Expect(!members.empty(), "a group has an owner");
  auto group = Check(owner.CreateGroup(members[0].cert, history_visible), "create group");
  auto link = Check(owner.Invite(group, {}), "invite");
  auto secret = crypto::SecretBytes::CopyOf(link.secret.view());
  auto invite_key = codec::InviteSigningKey(secret);
  std::vector<Bytes> joins;
  codec::VertexId prev = link.invite;
  uint64_t depth = link.invite_depth, created = link.invite_created_at;
  for (size_t i = 1; i < members.size(); ++i) {
    codec::JoinOp join{link.invite, members[i].cert, {}};
    join.proof =
        invite_key.Sign(codec::InviteProofDigest(group, link.invite, members[i].cert).view());
    codec::Vertex v;
    v.type = codec::kGroupOpType;
    v.object_id = group;
    v.parents = {prev};
    v.depth = ++depth;
    v.created_at = ++created;
    v.payload = codec::EncodeGroupOp(join);
    Check(codec::SignVertex(v, members[i].key), "sign join");
    prev = v.id;
    joins.push_back(codec::EncodeVertex(v));
  }
  auto joined = Check(owner.Ingest(joins), "ingest joins");
  Expect(joined.stats.applied == members.size() - 1, "every join applies");
  Check(owner.HealKeys(group), "share keys");
  auto st = Check(owner.GroupStateOf(group), "group state");
  Expect(st.members().size() == members.size(), "the group has every member");
  return group;
}

}  // namespace topo::bench
