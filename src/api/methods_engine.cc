// node.*, identity.*, object.* and bundle.* methods.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "api/methods.h"
#include "codec/object_payload.h"
#include "codec/vertex.h"
#include "node/daemon.h"
#include "object/op_text.h"
#include "util/clock.h"
#include "util/encoding.h"

namespace topo::api {

void AddMethod(MethodTable& t, MethodSpec spec, std::function<json(const json& params)> body) {
  t.Add(std::move(spec), [body = std::move(body)](const json& params) -> Result<json> {
    try {
      return body(params);
    } catch (const Failure& f) {
      return f.status;
    }
  });
}

Open OpenNode(node::Node& n) {
  auto* id = Check(n.identity());
  auto* r = Check(n.replica());
  return Open{*id, *r};
}

codec::ObjectId ResolveObject(object::Replica& r, const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.size() == 64) {
    auto id = HexDecodeFixed<32>(lower);
    if (!id.ok()) throw Failure{Status::InvalidArgument("\"" + text + "\" is not an object id")};
    auto heads = Check(r.Heads(*id));
    if (heads.empty()) throw Failure{Status::NotFound("no object " + text)};
    return *id;
  }
  if (lower.size() < 4 || !HexDecode(lower.size() % 2 ? lower + "0" : lower).ok())
    throw Failure{Status::InvalidArgument("\"" + text + "\" is not an object id")};
  std::optional<codec::ObjectId> found;
  for (const auto& info : Check(r.ListObjects())) {
    if (HexEncode(info.id.view()).rfind(lower, 0) == 0) {
      if (found)
        throw Failure{Status::InvalidArgument("object id prefix \"" + text + "\" is ambiguous")};
      found = info.id;
    }
  }
  if (!found) throw Failure{Status::NotFound("no object " + text)};
  return *found;
}

json ReportJson(const object::IngestReport& r) {
  return {{"applied", r.stats.applied},     {"cascaded", r.stats.cascaded},
          {"duplicate", r.stats.duplicate}, {"blocked", r.stats.blocked},
          {"rejected", r.stats.rejected},   {"invalid", r.stats.invalid},
          {"problems", r.problems}};
}

namespace {

json IdentityJson(node::Node& n, const store::DeviceIdentity& id) {
  return {{"device_key", HexEncode(id.device.public_key().view())},
          {"box_key", HexEncode(id.box.public_key().view())},
          {"user_key", HexEncode(id.user.public_key().view())},
          {"device_name", id.device_name},
          {"key_file", store::KeyFilePath(n.db())},
          {"encrypted", Check(store::IsEncrypted(store::KeyFilePath(n.db())))}};
}

json ObjectsJson(object::Replica& r) {
  json all = json::array();
  for (const auto& info : Check(r.ListObjects()))
    all.push_back({{"object", HexEncode(info.id.view())},
                   {"type", info.blueprint},
                   {"vertices", info.vertices},
                   {"heads", info.heads}});
  return all;
}

std::string Str(const json& params, const char* name) { return Check(StringParam(params, name)); }

}  // namespace

void AddNodeMethods(MethodTable& t, node::Node& n) {
  AddMethod(t,
            {"node.status", "The daemon: identity, addresses, peers, objects", {},
             "{db, pid, started_at, identity (null before init), listening, peers, objects}",
             json::object()},
            [&n](const json&) {
              json j{{"db", n.db()},
                     {"pid", ::getpid()},
                     {"started_at", n.started_at_ms()},
                     {"socket", node::SocketPath(n.db())},
                     {"log", node::LogPath(n.db())},
                     {"log_level", node::LogLevelName(n.log().level())},
                     {"listening", nullptr},
                     {"peers", json::array()}};
              if (auto* net = n.network()) {
                json ns = net->Describe();
                j["listening"] = ns["listening"];
                j["peers"] = ns["peers"];
                j["known"] = ns["known"];
              }
              auto id = n.identity();
              j["identity"] = id.ok() ? IdentityJson(n, **id) : json(nullptr);
              auto r = n.replica();
              j["objects"] = r.ok() ? ObjectsJson(**r) : json::array();
              return j;
            });
  AddMethod(t, {"node.stop", "Stops the daemon (after answering)", {}, "{stopping: true}",
                json::object()},
            [&n](const json&) {
              n.Stop("asked over RPC");
              return json{{"stopping", true}};
            });
  AddMethod(t, {"node.methods", "Lists the methods", {}, "[{method, summary}]", json::object()},
            [&t](const json&) {
              json all = json::array();
              for (const auto* m : t.List())
                all.push_back({{"method", m->name}, {"summary", m->summary}});
              return all;
            });
  AddMethod(t,
            {"node.describe",
             "A method's parameters, result and an example",
             {{"method", "string, required: the method's name"}},
             "{method, summary, params, result, example}",
             {{"method", "object.show"}}},
            [&t](const json& params) {
              std::string name = Str(params, "method");
              const MethodSpec* m = t.Find(name);
              if (!m) throw Failure{Status::NotFound("no method " + name + " (see: topo rpc methods)")};
              return DescribeJson(*m);
            });

  AddMethod(t,
            {"identity.init",
             "Creates the database and this device's identity (or shows the existing one)",
             {{"device_name", "string, optional: a name for this device (default \"device\")"}},
             "the identity, with created (whether it was made now)",
             {{"device_name", "laptop"}}},
            [&n](const json& params) {
              std::string name = OptionalString(params, "device_name").value_or("device");
              bool created = Check(n.EnsureIdentity(name));
              json j = IdentityJson(n, *Check(n.identity()));
              j["created"] = created;
              j["database"] = n.db();
              return j;
            });
  AddMethod(t, {"identity.show", "This device's identity", {}, "the identity", json::object()},
            [&n](const json&) { return IdentityJson(n, *Check(n.identity())); });
}

void AddPeerMethods(MethodTable& t, node::Node& n) {
  AddMethod(t,
            {"peer.add",
             "Adds a peer to keep connected (remembered across restarts)",
             {{"address", "string, required: HOST:PORT, e.g. 127.0.0.1:7001 or [::1]:7001"},
              {"device", "string, optional: its device key (hex): the connection is pinned to it"}},
             "{address, device}",
             {{"address", "127.0.0.1:7001"}, {"device", "5047f66b...(64 hex)"}}},
            [&n](const json& params) {
              std::string address = Str(params, "address");
              std::optional<crypto::PublicKey> key;
              if (auto d = OptionalString(params, "device")) {
                auto k = HexDecodeFixed<32>(*d);
                if (!k.ok())
                  throw Failure{Status::InvalidArgument("device must be 64 hex characters")};
                key = *k;
              }
              Check(n.AddPeer(address, key));
              return json{{"address", address},
                          {"device", key ? json(HexEncode(key->view())) : json(nullptr)}};
            });
  AddMethod(t, {"peer.list", "Connected peers and the addresses this node keeps dialing", {},
                "{listening, peers: [{device, address, inbound, admission, sync}], known}",
                json::object()},
            [&n](const json&) {
              Check(n.replica());
              auto* net = n.network();
              if (!net) throw Failure{Status::NotFound("this node has no network")};
              return net->Describe();
            });
}

void AddObjectMethods(MethodTable& t, node::Node& n) {
  AddMethod(t,
            {"object.create",
             "Creates an object; inside a workspace when one is named",
             {{"type", "string, required: counter | register | mvregister | set | map | list | doc"},
              {"workspace", "string, optional: workspace id or unique prefix"}},
             "{object, type, workspace?}",
             {{"type", "counter"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              std::string type = Str(params, "type");
              json j{{"type", type}};
              codec::ObjectId id;
              if (params.contains("workspace")) {
                auto group = ResolveWorkspace(o.r, params);
                id = Check(o.r.CreateObject(type, group));
                j["workspace"] = HexEncode(group.view());
              } else {
                id = Check(o.r.CreateObject(type));
              }
              j["object"] = HexEncode(id.view());
              return j;
            });
  AddMethod(t,
            {"object.update",
             "Applies an operation given as words, e.g. [\"add\", \"5\"]",
             {{"object", "string, required: object id or unique prefix"},
              {"field", "string, optional: the field (default \"value\")"},
              {"op", "array of strings, required: the operation and its arguments"}},
             "{vertex, op}",
             {{"object", "3e3ae4c3"}, {"op", {"add", "5"}}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto id = ResolveObject(o.r, Str(params, "object"));
              auto words = Check(StringListParam(params, "op", true));
              if (words.empty()) throw Failure{Status::InvalidArgument("op must name an operation")};
              const object::Blueprint* bp = Check(o.r.BlueprintOf(id));
              std::string fname = OptionalString(params, "field").value_or("value");
              if (fname == "value" && bp->FieldIndex("value") < 0)
                throw Failure{Status::InvalidArgument("a " + bp->name +
                                                      " has several fields: pass --field")};
              uint32_t f = Check(o.r.FieldOf(id, fname));
              auto op = Check(object::ParseOpWords(o.r.state(), id, object::FieldPrefix(f),
                                                   bp->fields[f].type, words));
              auto vid = Check(o.r.Submit(id, f, op));
              return json{{"vertex", HexEncode(vid.view())}, {"op", object::OpToJson(op)}};
            });
  AddMethod(t,
            {"object.show",
             "An object's state",
             {{"object", "string, required: object id or unique prefix"}},
             "{object, type, state}",
             {{"object", "3e3ae4c3"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto id = ResolveObject(o.r, Str(params, "object"));
              auto state = Check(o.r.Show(id));
              return json{{"object", HexEncode(id.view())},
                          {"type", Check(o.r.BlueprintOf(id))->name},
                          {"state", state}};
            });
  AddMethod(t,
            {"object.log",
             "An object's vertices in linear order",
             {{"object", "string, required: object id or unique prefix"}},
             "[{id, depth, created_at, author, parents, field?, op}]",
             {{"object", "3e3ae4c3"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              auto id = ResolveObject(o.r, Str(params, "object"));
              Check(o.r.BlueprintOf(id));
              json all = json::array();
              Check(o.r.ForEachInOrder(id, [&](const graph::VertexMeta& m, ByteView raw) {
                json j{{"id", HexEncode(m.id.view())},
                       {"depth", m.depth},
                       {"created_at", m.created_at},
                       {"author", HexEncode(m.author.view())}};
                auto v = codec::DecodeVertex(raw);
                if (v.ok()) {
                  std::vector<std::string> parents;
                  for (auto& p : v->parents) parents.push_back(HexEncodeShort(p));
                  j["parents"] = parents;
                  if (v->is_genesis()) {
                    auto gp = codec::DecodeGenesisPayload(v->payload);
                    j["op"] = json{{"op", "create"}, {"type", gp.ok() ? gp->blueprint : "?"}};
                  } else if (auto p = codec::DecodeOpPayload(v->payload); p.ok()) {
                    j["field"] = p->field;
                    j["op"] = object::OpToJson(p->op);
                  }
                }
                all.push_back(std::move(j));
                return true;
              }));
              return all;
            });
  AddMethod(t,
            {"replica.rebuild",
             "Rewrites the projection tables from the vertices, in one transaction: the generic "
             "projection, and the apps' tables (the chat's), keeping message numbers, read "
             "markers and the event journal",
             {},
             "{objects, vertices, apps, ms}",
             json::object()},
            [&n](const json&) {
              auto o = OpenNode(n);
              auto& log = n.log();
              auto start = std::chrono::steady_clock::now();
              auto report = Check(o.r.RebuildProjections([&log](uint64_t done, uint64_t total) {
                log.Info("rebuild: " + std::to_string(done) + " of " + std::to_string(total) +
                         " vertices read");
              }));
              auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
              return json{{"objects", report.objects},
                          {"vertices", report.vertices},
                          {"apps", report.apps},
                          {"ms", ms}};
            });
  AddMethod(t, {"object.list", "The objects in this replica", {}, "[{object, type, vertices, heads}]",
                json::object()},
            [&n](const json&) { return ObjectsJson(OpenNode(n).r); });

  AddMethod(t,
            {"bundle.export",
             "Writes vertices to a bundle file (offline sync)",
             {{"file", "string, required: absolute path of the bundle to write"},
              {"object", "string, optional: only this object (default: every object)"}},
             "{file, vertices}",
             {{"file", "/tmp/alice.bundle"}}},
            [&n](const json& params) {
              auto o = OpenNode(n);
              std::string file = Str(params, "file");
              std::optional<codec::ObjectId> only;
              if (auto obj = OptionalString(params, "object")) only = ResolveObject(o.r, *obj);
              uint64_t count = Check(o.r.ExportBundle(file, only));
              return json{{"file", file}, {"vertices", count}};
            });
}

}  // namespace topo::api
