// Blueprints: the types of objects. A blueprint names its fields, each a built-in CRDT
// (object/crdt.h). An object is made by a genesis vertex naming its blueprint; every later
// vertex is an operation on one field.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "object/app.h"
#include "object/crdt.h"

namespace topo::object {

struct FieldDecl {
  std::string name;
  FieldType type;
};

struct Blueprint {
  std::string name;
  std::string description;
  std::vector<FieldDecl> fields;
  // Set for an app's blueprint (object/app.h): projects its log fields' entries.
  std::shared_ptr<const AppProjector> app;
  // -1 when there is no such field.
  int FieldIndex(std::string_view field) const;
};

// The built-in blueprints: counter, register, mvregister, set, map, list (one field named
// "value" each) and doc (one field of every kind, nested maps included).
const std::vector<Blueprint>& BuiltinBlueprints();
// The blueprint of a group (a workspace): its encrypted content fields, "name" and
// "profiles" (display names by user key, hex). Its ACL is not fields but the group
// operations of object/group_state.h. Made by Replica::CreateGroup, never CreateObject.
const Blueprint& GroupBlueprint();
// A built-in blueprint, the group blueprint or a registered app blueprint by name; nullptr
// when unknown.
const Blueprint* FindBlueprint(std::string_view name);

}  // namespace topo::object
