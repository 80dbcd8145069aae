#include "object/blueprint.h"

#include <deque>

namespace topo::object {

int Blueprint::FieldIndex(std::string_view field) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == field) return static_cast<int>(i);
  return -1;
}

const std::vector<Blueprint>& BuiltinBlueprints() {
  static const std::vector<Blueprint> all = [] {
    auto single = [](std::string name, std::string desc, FieldType t) {
      return Blueprint{std::move(name), std::move(desc), {{"value", std::move(t)}}, nullptr};
    };
    std::vector<Blueprint> v;
    v.push_back(single("counter", "a PN-counter", FieldType::Counter()));
    v.push_back(single("register", "a last-writer-wins register", FieldType::LwwRegister()));
    v.push_back(single("mvregister", "a multi-value register", FieldType::MvRegister()));
    v.push_back(single("set", "an add-wins observed-remove set", FieldType::OrSet()));
    v.push_back(single("map", "a map of last-writer-wins registers",
                       FieldType::Map(FieldType::LwwRegister())));
    v.push_back(single("list", "an ordered list (RGA), usable for text", FieldType::List()));
    v.push_back(Blueprint{"doc",
                          "one field of every CRDT kind",
                          {{"title", FieldType::LwwRegister()},
                           {"count", FieldType::Counter()},
                           {"status", FieldType::MvRegister()},
                           {"tags", FieldType::OrSet()},
                           {"props", FieldType::Map(FieldType::LwwRegister())},
                           {"votes", FieldType::Map(FieldType::Counter())},
                           {"nested", FieldType::Map(FieldType::Map(FieldType::OrSet()))},
                           {"text", FieldType::List()}},
                          nullptr});
    return v;
  }();
  return all;
}

const Blueprint& GroupBlueprint() {
  static const Blueprint group{
      "group",
      "a workspace: members, roles, invites, key epochs",
      {{"name", FieldType::LwwRegister()}, {"profiles", FieldType::Map(FieldType::LwwRegister())}},
      nullptr};
  return group;
}

namespace {
// A deque: registered blueprints never move, so engines may cache pointers to them.
std::deque<Blueprint>& Registered() {
  static std::deque<Blueprint> apps;
  return apps;
}
}  // namespace

Status RegisterBlueprint(const Blueprint& blueprint) {
  if (!blueprint.app) return Status::InvalidArgument("an app blueprint needs its projector");
  if (blueprint.name.empty() || blueprint.name.size() > 64) return Status::InvalidArgument("a blueprint needs a name of 1 to 64 bytes");
  for (char c : blueprint.name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return Status::InvalidArgument("blueprint \"" + blueprint.name +
                                     "\": use lowercase letters, digits, '_' and '-'");
  for (const auto& f : blueprint.fields) TOPO_RETURN_IF_ERROR(codec::CheckFieldType(f.type));
  for (const auto& b : BuiltinBlueprints())
    if (b.name == blueprint.name)
      return Status::AlreadyExists("\"" + b.name + "\" is a built-in blueprint");
  if (blueprint.name == GroupBlueprint().name)
    return Status::AlreadyExists("\"group\" is a built-in blueprint");
  for (const auto& b : Registered()) {
    if (b.name != blueprint.name) continue;
    bool same = b.fields.size() == blueprint.fields.size();
    for (size_t i = 0; same && i < b.fields.size(); ++i)
      same = b.fields[i].name == blueprint.fields[i].name &&
             b.fields[i].type == blueprint.fields[i].type;
    if (same) return Status::Ok();
    return Status::AlreadyExists("blueprint \"" + b.name + "\" is registered with other fields");
  }
  Registered().push_back(blueprint);
  return Status::Ok();
}

std::vector<const Blueprint*> AppBlueprints() {
  std::vector<const Blueprint*> out;
  for (const auto& b : Registered()) out.push_back(&b);
  return out;
}

const Blueprint* FindBlueprint(std::string_view name) {
  for (const auto& b : BuiltinBlueprints())
    if (b.name == name) return &b;
  if (name == GroupBlueprint().name) return &GroupBlueprint();
  for (const auto& b : Registered())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace topo::object
