#include "object/blueprint.h"

namespace topo::object {

int Blueprint::FieldIndex(std::string_view field) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == field) return static_cast<int>(i);
  return -1;
}

const std::vector<Blueprint>& BuiltinBlueprints() {
  static const std::vector<Blueprint> all = [] {
    auto single = [](std::string name, std::string desc, FieldType t) {
      return Blueprint{std::move(name), std::move(desc), {{"value", std::move(t)}}};
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
                           {"text", FieldType::List()}}});
    return v;
  }();
  return all;
}

const Blueprint& GroupBlueprint() {
  static const Blueprint group{
      "group",
      "a workspace: members, roles, invites, key epochs",
      {{"name", FieldType::LwwRegister()}, {"profiles", FieldType::Map(FieldType::LwwRegister())}}};
  return group;
}

const Blueprint* FindBlueprint(std::string_view name) {
  for (const auto& b : BuiltinBlueprints())
    if (b.name == name) return &b;
  if (name == GroupBlueprint().name) return &GroupBlueprint();
  return nullptr;
}

}  // namespace topo::object
