#include "api/jsonrpc.h"

#include <algorithm>

namespace topo::api {

namespace {

json ErrorResponse(const json& id, int code, const std::string& message, json data = nullptr) {
  json error{{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  return json{{"jsonrpc", "2.0"}, {"error", std::move(error)}, {"id", id}};
}

bool ValidId(const json& id) { return id.is_string() || id.is_number() || id.is_null(); }

// The request being handled, when it may be held (DeferReply). One thread serves a table.
struct DeferSlot {
  bool may_defer = false;
  std::optional<uint64_t> wait_ms;
};
thread_local DeferSlot* current_slot = nullptr;

std::string Dump(const json& reply) {
  // Invalid UTF-8 in a handler's strings must not take the daemon down.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

bool DeferReply(uint64_t wait_ms) {
  if (!current_slot || !current_slot->may_defer || wait_ms == 0) return false;
  current_slot->wait_ms = std::min(wait_ms, kMaxDeferMs);
  return true;
}

MethodTable::Outcome MethodTable::HandleLineDeferrable(std::string_view line) {
  if (line.size() > kMaxRpcLineBytes) return Outcome{HandleLine(line), std::nullopt, 0};
  json message = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object())
    return Outcome{HandleLine(line), std::nullopt, 0};
  return HandleDeferrable(message, message.contains("id"));
}

MethodTable::Outcome MethodTable::HandleHeld(const json& request, bool final) {
  return HandleDeferrable(request, !final);
}

MethodTable::Outcome MethodTable::HandleDeferrable(const json& request, bool may_defer) {
  DeferSlot slot;
  slot.may_defer = may_defer;
  DeferSlot* outer = current_slot;
  current_slot = &slot;
  std::optional<json> reply = HandleOne(request);
  current_slot = outer;
  // A handler that deferred and then failed answers with its error.
  if (slot.wait_ms && reply && reply->contains("result")) return Outcome{std::nullopt, request, *slot.wait_ms};
  if (!reply) return Outcome{};
  return Outcome{Dump(*reply), std::nullopt, 0};
}

void MethodTable::Add(MethodSpec spec, Handler handler) {
  std::string name = spec.name;
  methods_[name] = Entry{std::move(spec), std::move(handler)};
}

Handler MethodTable::HandlerOf(const std::string& name) const {
  auto it = methods_.find(name);
  return it == methods_.end() ? Handler() : it->second.handler;
}

const MethodSpec* MethodTable::Find(const std::string& name) const {
  auto it = methods_.find(name);
  return it == methods_.end() ? nullptr : &it->second.spec;
}

std::vector<const MethodSpec*> MethodTable::List() const {
  std::vector<const MethodSpec*> out;
  for (const auto& [_, e] : methods_) out.push_back(&e.spec);
  return out;
}

std::optional<std::string> MethodTable::HandleLine(std::string_view line) {
  if (line.size() > kMaxRpcLineBytes)
    return ErrorResponse(nullptr, kInvalidRequest, "request too large").dump();
  json message = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded())
    return ErrorResponse(nullptr, kParseError, "parse error: not a JSON text").dump();
  auto reply = Handle(message);
  if (!reply) return std::nullopt;
  return Dump(*reply);
}

std::optional<json> MethodTable::Handle(const json& message) {
  if (!message.is_array()) return HandleOne(message);
  if (message.empty()) return ErrorResponse(nullptr, kInvalidRequest, "empty batch");
  json replies = json::array();
  for (const auto& request : message)
    if (auto r = HandleOne(request)) replies.push_back(std::move(*r));
  if (replies.empty()) return std::nullopt;
  return replies;
}

std::optional<json> MethodTable::HandleOne(const json& request) {
  if (!request.is_object())
    return ErrorResponse(nullptr, kInvalidRequest, "a request is a JSON object");
  const bool notification = !request.contains("id");
  json id = notification ? json(nullptr) : request["id"];
  if (!ValidId(id)) return ErrorResponse(nullptr, kInvalidRequest, "id must be a string or number");
  auto version = request.find("jsonrpc");
  if (version == request.end() || *version != "2.0")
    return ErrorResponse(id, kInvalidRequest, "jsonrpc must be \"2.0\"");
  auto method = request.find("method");
  if (method == request.end() || !method->is_string())
    return ErrorResponse(id, kInvalidRequest, "method must be a string");
  json params = request.value("params", json::object());
  if (!params.is_object() && !params.is_array())
    return ErrorResponse(id, kInvalidRequest, "params must be an object or an array");
  auto it = methods_.find(method->get<std::string>());
  if (it == methods_.end()) {
    if (notification) return std::nullopt;
    return ErrorResponse(id, kMethodNotFound,
                         "no method " + method->get<std::string>() + " (see: topo rpc methods)");
  }
  if (!params.is_object())
    return notification ? std::nullopt
                        : std::optional<json>(ErrorResponse(
                              id, kInvalidParams, "params must be an object of named parameters"));
  Result<json> result = Status::Internal("no result");
  try {
    result = it->second.handler(params);
  } catch (const std::exception& e) {
    result = Status::Internal(std::string("internal error: ") + e.what());
  }
  if (notification) return std::nullopt;
  if (!result.ok()) {
    json err = ErrorObject(result.status());
    return ErrorResponse(id, err["code"], err["message"], err["data"]);
  }
  return json{{"jsonrpc", "2.0"}, {"result", std::move(result).value()}, {"id", id}};
}

json DescribeJson(const MethodSpec& spec) {
  json params = json::object();
  for (const auto& [name, what] : spec.params) params[name] = what;
  return {{"method", spec.name},
          {"summary", spec.summary},
          {"params", params},
          {"result", spec.result},
          {"example", MakeRequest(1, spec.name, spec.example)}};
}

json MakeRequest(uint64_t id, const std::string& method, const json& params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

Result<json> ParseResponse(const json& response, uint64_t id) {
  if (!response.is_object() || response.value("jsonrpc", "") != "2.0")
    return Status::Corruption("the daemon's reply is not a JSON-RPC 2.0 response");
  if (response.contains("error")) return StatusFromError(response["error"]);
  if (!response.contains("id") || response["id"] != id)
    return Status::Corruption("the daemon answered another request");
  if (!response.contains("result")) return Status::Corruption("the daemon's reply has no result");
  return response["result"];
}

json ErrorObject(const Status& s) {
  int code = kStatusErrorBase - static_cast<int>(s.code());
  return {{"code", code}, {"message", s.message()}, {"data", {{"status", CodeName(s.code())}}}};
}

Status StatusFromError(const json& error) {
  if (!error.is_object()) return Status::Corruption("malformed error in the daemon's reply");
  std::string message = error.value("message", std::string("error"));
  int code = error.value("code", kInternalError);
  if (error.contains("data") && error["data"].is_object() &&
      error["data"].value("status", "") != "") {
    std::string name = error["data"]["status"];
    for (int c = static_cast<int>(Code::kInvalidArgument); c <= static_cast<int>(Code::kInternal);
         ++c)
      if (name == CodeName(static_cast<Code>(c))) return Status(static_cast<Code>(c), message);
  }
  switch (code) {
    case kMethodNotFound:
      return Status::NotFound(message);
    case kInvalidParams:
    case kInvalidRequest:
      return Status::InvalidArgument(message);
    default:
      return Status::Internal(message);
  }
}

Result<std::string> StringParam(const json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end())
    return Status::InvalidArgument(std::string("missing parameter \"") + name + "\"");
  if (!it->is_string())
    return Status::InvalidArgument(std::string("parameter \"") + name + "\" must be a string");
  return it->get<std::string>();
}

std::optional<std::string> OptionalString(const json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

Result<uint64_t> UintParam(const json& params, const char* name, uint64_t fallback) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return fallback;
  // A parsed 5 is unsigned; a 5 built in C++ is a signed integer: both are fine.
  if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0))
    return Status::InvalidArgument(std::string("parameter \"") + name +
                                   "\" must be a non-negative integer");
  return it->get<uint64_t>();
}

Result<bool> BoolParam(const json& params, const char* name, bool fallback) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    return Status::InvalidArgument(std::string("parameter \"") + name + "\" must be true or false");
  return it->get<bool>();
}

Result<std::vector<std::string>> StringListParam(const json& params, const char* name,
                                                 bool required) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(std::string("missing parameter \"") + name + "\"");
    return std::vector<std::string>{};
  }
  std::vector<std::string> out;
  bool ok = it->is_array();
  if (ok)
    for (const auto& e : *it) {
      if (!e.is_string()) {
        ok = false;
        break;
      }
      out.push_back(e.get<std::string>());
    }
  if (!ok)
    return Status::InvalidArgument(std::string("parameter \"") + name +
                                   "\" must be an array of strings");
  return out;
}

}  // namespace topo::api
