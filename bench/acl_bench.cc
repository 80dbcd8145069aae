// topo-bench acl: what groups cost. A group of M members (one owner, M - 1 joined through
// one invite); N content operations on one object inside the group, made by 4 member
// devices; a receiving member ingests them. The same N operations, unsealed, on an object
// outside any group go to another fresh replica. The ratio of the two ingest times is the
// cost of the permission checks and the decryption. Also timed: one epoch rotation sealed
// to every member device.
#include <algorithm>
#include <iostream>

#include "bench/benches.h"
#include "bench/group_fixture.h"
#include "codec/object_payload.h"
#include "object/replica.h"

namespace topo::bench {
namespace {

// N content vertices on `object`, a chain, authors taking turns. With a group, each names
// `group_heads` in refs and is sealed under `epoch`; without, the payload is plain.
std::vector<Bytes> MakeOps(uint64_t n, const codec::ObjectId& object, const codec::Vertex& genesis,
                           const std::vector<const Member*>& authors,
                           const std::vector<codec::VertexId>& group_heads,
                           const codec::VertexId& epoch, const crypto::SecretBytes* key) {
  std::vector<Bytes> out;
  out.reserve(n);
  codec::VertexId prev = genesis.id;
  uint64_t depth = 0, created = genesis.created_at;
  Progress progress(key ? "sealed ops" : "plain ops", n);
  for (uint64_t i = 0; i < n; ++i) {
    codec::Vertex v;
    v.type = codec::kCrdtOpType;
    v.object_id = object;
    v.parents = {prev};
    v.depth = ++depth;
    v.created_at = ++created;
    const Member& author = *authors[i % authors.size()];
    v.author = author.key.public_key();
    codec::OpPayload op = i % 2 ? codec::OpPayload{1, codec::CrdtOp{codec::CounterAdd{1}}}
                                : codec::OpPayload{0, codec::CrdtOp{codec::LwwSet{Bytes(24, 'x')}}};
    Bytes plain = codec::EncodeOpPayload(op);
    if (key) {
      v.refs = group_heads;
      v.payload = Check(object::SealContent(v, epoch, *key, plain), "seal");
    } else {
      v.payload = std::move(plain);
    }
    Check(codec::SignVertex(v, author.key), "sign");
    prev = v.id;
    out.push_back(codec::EncodeVertex(v));
    progress.Update(i + 1);
  }
  return out;
}

double TimedIngest(object::Replica& r, std::vector<Bytes> raws, uint64_t expect) {
  Stopwatch t;
  auto report = Check(r.Ingest(std::move(raws)), "ingest");
  double ms = t.Ms();
  Expect(report.stats.applied == expect && report.stats.rejected == 0 &&
             report.stats.invalid == 0 && report.stats.blocked == 0,
         "every content vertex applies (applied " + std::to_string(report.stats.applied) +
             ", rejected " + std::to_string(report.stats.rejected) + ")");
  return ms;
}

}  // namespace

Json RunAcl(const AclOptions& options) {
  Expect(options.members >= 5, "--members is at least 5");
  TempDir dir("acl");
  std::vector<Member> members(options.members);
  Member& owner = members[0];
  auto group_replica = OpenAt(dir.File("owner.db"), owner);
  Stopwatch setup;
  auto group = MakeGroup(*group_replica, members, false);
  auto st = Check(group_replica->GroupStateOf(group), "group state");
  double setup_ms = setup.Ms();

  // The object inside the group, and the content.
  auto object = Check(group_replica->CreateObject("doc", group), "create object");
  std::string group_bundle = dir.File("group.bndl");
  Check(group_replica->ExportBundle(group_bundle), "export group");
  codec::Vertex genesis;
  Check(group_replica->ForEachInOrder(object,
                                      [&](const graph::VertexMeta&, ByteView raw) {
                                        genesis = codec::DecodeVertex(raw).value();
                                        return false;
                                      }),
        "genesis");
  auto heads = (*group_replica->engine().GroupIndexOf(group))->Heads();
  const crypto::SecretBytes* key =
      group_replica->engine().KeyringOf(group).KeyFor(st.current_epoch());
  Expect(key != nullptr, "the owner holds the epoch key");
  std::vector<const Member*> authors{&members[1], &members[2], &members[3], &members[4]};
  auto sealed = MakeOps(options.events, object, genesis, authors, heads, st.current_epoch(), key);

  // The plain twin: an object outside any group, same shape and ops.
  const Member& receiver = members.back();
  auto plain_source = OpenAt(dir.File("plain-source.db"), owner);
  auto plain_object = Check(plain_source->CreateObject("doc"), "create plain object");
  codec::Vertex plain_genesis;
  Check(plain_source->ForEachInOrder(plain_object,
                                     [&](const graph::VertexMeta&, ByteView raw) {
                                       plain_genesis = codec::DecodeVertex(raw).value();
                                       return false;
                                     }),
        "plain genesis");
  std::string plain_bundle = dir.File("plain.bndl");
  Check(plain_source->ExportBundle(plain_bundle), "export plain");
  auto plain = MakeOps(options.events, plain_object, plain_genesis, authors, {}, {}, nullptr);

  // Receivers: fresh on-disk replicas of a member device, holding the group (or the plain
  // genesis) before the timed ingest.
  auto in_group = OpenAt(dir.File("receiver-group.db"), receiver);
  Check(in_group->ImportBundle(group_bundle), "import group");
  Expect(in_group->engine().KeyringOf(group).KeyFor(st.current_epoch()) != nullptr,
         "the receiver holds the epoch key");
  auto in_plain = OpenAt(dir.File("receiver-plain.db"), receiver);
  Check(in_plain->ImportBundle(plain_bundle), "import plain genesis");

  std::cerr << "acl: timing " << options.events << " plain ops\n";
  double plain_ms = TimedIngest(*in_plain, std::move(plain), options.events);
  std::cerr << "acl: timing " << options.events << " sealed ops in a group of " << options.members
            << "\n";
  double group_ms = TimedIngest(*in_group, std::move(sealed), options.events);
  auto shown = Check(in_group->Show(object), "show");
  Expect(shown["count"] == options.events / 2, "the receiver read every sealed op");

  // One rotation sealed to every member device.
  Stopwatch rot;
  Check(group_replica->Rotate(group), "rotate");
  double rotate_ms = rot.Ms();

  Json r;
  r["members"] = options.members;
  r["events"] = options.events;
  r["plain_ingest_ms"] = plain_ms;
  r["group_ingest_ms"] = group_ms;
  r["ratio"] = group_ms / plain_ms;
  r["ratio_is"] = "sealed ops in a group / the same ops outside any group (1.0 = free)";
  r["plain_events_per_s"] = options.events / (plain_ms / 1e3);
  r["group_events_per_s"] = options.events / (group_ms / 1e3);
  r["rotate_ms"] = rotate_ms;
  r["rotate_devices"] = options.members;
  r["group_setup_ms"] = setup_ms;
  r["goal"] = "ratio <= 1.15 (at 1,000 members, 100,000 events)";
  if (options.members == 1000 && options.events == 100'000)
    r["goal_met"] = group_ms / plain_ms <= 1.15;
  return r;
}

}  // namespace topo::bench
