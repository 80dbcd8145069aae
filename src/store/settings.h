// Local settings of one replica (the `meta` table): which workspace is the default, a
// display name waiting to be published, ... Never replicated, never signed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/database.h"

namespace topo::store {

Status PutSetting(Database& db, std::string_view key, std::string_view value);
Result<std::optional<std::string>> GetSetting(Database& db, std::string_view key);
Status DeleteSetting(Database& db, std::string_view key);
// Every setting whose key starts with `prefix`, in key order.
Result<std::vector<std::pair<std::string, std::string>>> ListSettings(Database& db,
                                                                      std::string_view prefix);

}  // namespace topo::store
