// What the method handlers share (api/service.h): failures thrown as Failure and turned into
// the handler's Status, id resolution, and the registration functions of each group.
#pragma once

#include <functional>
#include <string>

#include "api/jsonrpc.h"
#include "node/node.h"

namespace topo::api {

struct Failure {
  Status status;
};

template <typename T>
T Check(Result<T> r) {
  if (!r.ok()) throw Failure{r.status()};
  return std::move(r).value();
}
inline void Check(Status s) {
  if (!s.ok()) throw Failure{std::move(s)};
}

// Adds a method whose body may throw Failure.
void AddMethod(MethodTable& t, MethodSpec spec, std::function<json(const json& params)> body);

// The replica and identity (NotFound until the database exists).
struct Open {
  store::DeviceIdentity& id;
  object::Replica& r;
};
Open OpenNode(node::Node& n);

// Full hex id, or a unique prefix of at least 4 hex characters among the replica's objects.
codec::ObjectId ResolveObject(object::Replica& r, const std::string& text);
// The workspace `params.workspace` names (id or unique prefix), else the default one (set by
// workspace.create, workspace.accept and workspace.use), else the only one.
codec::ObjectId ResolveWorkspace(object::Replica& r, const json& params);
// "90s", "30m", "12h", "7d" -> milliseconds.
uint64_t ParseDuration(const std::string& text);
void CheckName(const std::string& what, const std::string& value);
json ReportJson(const object::IngestReport& r);

// The workspace's display names (its "profiles" field: user key hex -> name).
json Profiles(object::Replica& r, const codec::ObjectId& group);
// A user's display name there, or "".
std::string DisplayName(const json& profiles, const crypto::PublicKey& user);
// A member by display name, or by user key (hex, or a unique prefix of 4+ characters).
crypto::PublicKey ResolveUser(object::Replica& r, const codec::ObjectId& group,
                              const object::GroupState& st, const std::string& text);

void AddNodeMethods(MethodTable& t, node::Node& n);
void AddObjectMethods(MethodTable& t, node::Node& n);
void AddPeerMethods(MethodTable& t, node::Node& n);
void AddWorkspaceMethods(MethodTable& t, node::Node& n);
void AddFileMethods(MethodTable& t, node::Node& n);
// What group changes call for, after a bundle import or vertices from peers: takes over the
// user identity another device handed to this one, certifies this user's new devices,
// shares keys with members that lack them, publishes waiting display names. Lines for the
// user (empty when nothing happened).
std::string AfterImport(node::Node& n);

}  // namespace topo::api
