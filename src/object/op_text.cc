#include "object/op_text.h"

#include <charconv>

#include "codec/reader.h"
#include "util/encoding.h"

namespace topo::object {
namespace {

// The kind as people call it (the object types of the same name).
const char* KindWord(CrdtKind kind) {
  switch (kind) {
    case CrdtKind::kCounter:
      return "counter";
    case CrdtKind::kLwwRegister:
      return "register";
    case CrdtKind::kMvRegister:
      return "mvregister";
    case CrdtKind::kOrSet:
      return "set";
    case CrdtKind::kMap:
      return "map";
    case CrdtKind::kList:
      return "list";
    case CrdtKind::kLog:
      return "log";
  }
  return "?";
}

Status Usage(const FieldType& type, const std::string& why) {
  return Status::InvalidArgument(why + " (a " + KindWord(type.kind) + " takes: " + OpUsage(type) +
                                 ")");
}

Result<int64_t> ParseInt(const std::string& s, const char* what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return Status::InvalidArgument(std::string(what) + " \"" + s + "\" is not an integer");
  return v;
}

Result<size_t> ParseIndex(const std::string& s, const char* what) {
  TOPO_ASSIGN_OR_RETURN(int64_t v, ParseInt(s, what));
  if (v < 0) return Status::InvalidArgument(std::string(what) + " must not be negative");
  return static_cast<size_t>(v);
}

// One list value per UTF-8 character, so text edits address characters.
Result<std::vector<Bytes>> SplitChars(const std::string& text) {
  if (!codec::IsValidUtf8(text)) return Status::InvalidArgument("text is not valid UTF-8");
  std::vector<Bytes> out;
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0xF0)
      n = 4;
    else if (c >= 0xE0)
      n = 3;
    else if (c >= 0xC0)
      n = 2;
    out.emplace_back(text.begin() + i, text.begin() + i + n);
    i += n;
  }
  if (out.empty()) return Status::InvalidArgument("nothing to insert");
  return out;
}

nlohmann::json Ids(const std::vector<codec::VertexId>& ids) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& id : ids) a.push_back(HexEncodeShort(id));
  return a;
}

nlohmann::json BytesJson(const Bytes& b) {
  if (codec::IsValidUtf8(AsChars(b))) return std::string(AsChars(b));
  return nlohmann::json{{"hex", HexEncode(b)}};
}

nlohmann::json Elem(const codec::ElemId& e) {
  return HexEncodeShort(e.vertex) + ":" + std::to_string(e.index);
}

}  // namespace

std::string OpUsage(const FieldType& type) {
  switch (type.kind) {
    case CrdtKind::kCounter:
      return "add N | inc | dec";
    case CrdtKind::kLwwRegister:
      return "set VALUE";
    case CrdtKind::kMvRegister:
      return "set VALUE";
    case CrdtKind::kOrSet:
      return "add ELEMENT | remove ELEMENT";
    case CrdtKind::kMap:
      return "put KEY VALUE | remove KEY | at KEY <op of the value>";
    case CrdtKind::kList:
      return "insert INDEX TEXT | append TEXT | delete INDEX [COUNT]";
    case CrdtKind::kLog:
      return "(written by its app only)";
  }
  return "?";
}

Result<CrdtOp> ParseOpWords(store::StateStore& state, const codec::ObjectId& object,
                            ByteView prefix, const FieldType& type,
                            const std::vector<std::string>& words) {
  if (words.empty()) return Usage(type, "no operation given");
  const std::string& verb = words[0];
  auto need = [&](size_t n) -> Status {
    if (words.size() != n)
      return Usage(type, "\"" + verb + "\" takes " + std::to_string(n - 1) + " argument(s)");
    return Status::Ok();
  };
  switch (type.kind) {
    case CrdtKind::kCounter:
      if (verb == "inc" || verb == "dec") {
        TOPO_RETURN_IF_ERROR(need(1));
        return CrdtOp{codec::CounterAdd{verb == "inc" ? 1 : -1}};
      }
      if (verb == "add") {
        TOPO_RETURN_IF_ERROR(need(2));
        TOPO_ASSIGN_OR_RETURN(int64_t n, ParseInt(words[1], "amount"));
        return CrdtOp{codec::CounterAdd{n}};
      }
      break;
    case CrdtKind::kLwwRegister:
      if (verb == "set") {
        TOPO_RETURN_IF_ERROR(need(2));
        return CrdtOp{codec::LwwSet{ToBytes(words[1])}};
      }
      break;
    case CrdtKind::kMvRegister:
      if (verb == "set") {
        TOPO_RETURN_IF_ERROR(need(2));
        return MakeMvSet(state, object, prefix, ToBytes(words[1]));
      }
      break;
    case CrdtKind::kOrSet:
      if (verb == "add") {
        TOPO_RETURN_IF_ERROR(need(2));
        return CrdtOp{codec::SetAdd{ToBytes(words[1])}};
      }
      if (verb == "remove") {
        TOPO_RETURN_IF_ERROR(need(2));
        return MakeSetRemove(state, object, prefix, AsBytes(words[1]));
      }
      break;
    case CrdtKind::kMap: {
      if (verb == "remove") {
        TOPO_RETURN_IF_ERROR(need(2));
        return MakeMapRemove(state, object, prefix, words[1]);
      }
      if (verb == "put" || verb == "at") {
        if (words.size() < 3) return Usage(type, "\"" + verb + "\" needs a key and more");
        const std::string& key = words[1];
        Bytes inner_prefix = MapValuePrefix(prefix, key);
        std::vector<std::string> rest;
        if (verb == "put") {
          TOPO_RETURN_IF_ERROR(need(3));
          rest = {"set", words[2]};
        } else {
          rest.assign(words.begin() + 2, words.end());
        }
        TOPO_ASSIGN_OR_RETURN(auto inner,
                              ParseOpWords(state, object, inner_prefix, *type.value, rest));
        CrdtOp op = codec::MakeMapUpdate(key, std::move(inner));
        Status s = codec::CheckCrdtOp(op);
        if (!s.ok()) return s;
        return op;
      }
      break;
    }
    case CrdtKind::kList:
      if (verb == "append") {
        TOPO_RETURN_IF_ERROR(need(2));
        TOPO_ASSIGN_OR_RETURN(auto chars, SplitChars(words[1]));
        TOPO_ASSIGN_OR_RETURN(auto current, ReadList(state, object, prefix));
        return MakeListInsert(state, object, prefix, current.size(), std::move(chars));
      }
      if (verb == "insert") {
        TOPO_RETURN_IF_ERROR(need(3));
        TOPO_ASSIGN_OR_RETURN(size_t index, ParseIndex(words[1], "index"));
        TOPO_ASSIGN_OR_RETURN(auto chars, SplitChars(words[2]));
        return MakeListInsert(state, object, prefix, index, std::move(chars));
      }
      if (verb == "delete") {
        if (words.size() != 2 && words.size() != 3)
          return Usage(type, "\"delete\" takes INDEX [COUNT]");
        TOPO_ASSIGN_OR_RETURN(size_t index, ParseIndex(words[1], "index"));
        size_t count = 1;
        if (words.size() == 3) {
          TOPO_ASSIGN_OR_RETURN(count, ParseIndex(words[2], "count"));
        }
        return MakeListDelete(state, object, prefix, index, count);
      }
      break;
    case CrdtKind::kLog:
      // An app's entries have the app's encoding and checks; raw bytes from the command line
      // would be skipped as unreadable by every replica.
      return Status::InvalidArgument("a log field is written by its app, not by object commands");
  }
  return Usage(type, "unknown operation \"" + verb + "\"");
}

nlohmann::json OpToJson(const CrdtOp& op) {
  nlohmann::json j;
  j["op"] = op.name();
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, codec::CounterAdd>) {
          j["delta"] = o.delta;
        } else if constexpr (std::is_same_v<T, codec::LwwSet>) {
          j["value"] = BytesJson(o.value);
        } else if constexpr (std::is_same_v<T, codec::MvSet>) {
          j["value"] = BytesJson(o.value);
          j["supersedes"] = Ids(o.supersedes);
        } else if constexpr (std::is_same_v<T, codec::SetAdd>) {
          j["element"] = BytesJson(o.element);
        } else if constexpr (std::is_same_v<T, codec::SetRemove>) {
          j["element"] = BytesJson(o.element);
          j["observed"] = Ids(o.observed);
        } else if constexpr (std::is_same_v<T, codec::MapUpdate>) {
          j["key"] = o.key;
          j["inner"] = OpToJson(*o.op);
        } else if constexpr (std::is_same_v<T, codec::MapRemove>) {
          j["key"] = o.key;
          j["observed"] = Ids(o.observed);
        } else if constexpr (std::is_same_v<T, codec::ListInsert>) {
          j["after"] = o.after ? Elem(*o.after) : nlohmann::json(nullptr);
          std::string text;
          bool utf8 = true;
          for (const auto& v : o.values) {
            text.append(AsChars(v));
            utf8 = utf8 && codec::IsValidUtf8(AsChars(v));
          }
          j["values"] = utf8 ? nlohmann::json(text) : nlohmann::json(o.values.size());
        } else if constexpr (std::is_same_v<T, codec::ListDelete>) {
          nlohmann::json a = nlohmann::json::array();
          for (const auto& e : o.elems) a.push_back(Elem(e));
          j["elems"] = a;
        } else if constexpr (std::is_same_v<T, codec::LogAppend>) {
          j["bytes"] = o.entry.size();
        }
      },
      op.op);
  return j;
}

}  // namespace topo::object
