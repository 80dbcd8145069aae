// Operations as people type and read them: parsing command-line words into a CrdtOp for a
// field (reading current state where the op must name what its author saw), and rendering
// an op as JSON for logs.
//
// Words by field kind (map keys walk into nested maps with "at KEY ..."):
//   counter     add N | inc | dec
//   register    set VALUE
//   mvregister  set VALUE
//   set         add ELEMENT | remove ELEMENT
//   map         put KEY VALUE (register or mvregister values) | remove KEY | at KEY <op...>
//   list        insert INDEX TEXT | append TEXT | delete INDEX [COUNT]
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "object/crdt.h"

namespace topo::object {

Result<CrdtOp> ParseOpWords(store::StateStore& state, const codec::ObjectId& object,
                            ByteView prefix, const FieldType& type,
                            const std::vector<std::string>& words);

// The words ParseOpWords accepts for a kind, for help and error messages.
std::string OpUsage(const FieldType& type);

nlohmann::json OpToJson(const CrdtOp& op);

}  // namespace topo::object
