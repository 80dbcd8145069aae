// JSON-RPC 2.0 (https://www.jsonrpc.org/specification), sans I/O: a table of methods, each
// with the description `topo rpc describe` prints, and a dispatcher that turns one request
// line into one response line. The transport (api/rpc_server.h) frames messages as lines:
// one JSON text per line, UTF-8, at most kMaxRpcLineBytes.
//
//   MethodTable t;
//   t.Add({.name = "object.show", .summary = ..., .params = ..., .result = ..., .example = ...},
//         [](const json& params) -> Result<json> { ... });
//   std::optional<std::string> reply = t.HandleLine(line);   // nullopt for a notification
//
// Errors: the spec's codes for malformed requests (-32700 parse error, -32600 invalid
// request, -32601 method not found, -32602 invalid params); a handler's failure Status
// becomes code kStatusErrorBase - Status::code() with the message, and `data.status` holding
// the code's name (CodeName) so that clients rebuild the same Status. Batches are served.
// Not thread-safe: call from one thread (the node's event loop).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace topo::api {

using nlohmann::json;

constexpr size_t kMaxRpcLineBytes = size_t{16} << 20;

constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
// Status codes map to kStatusErrorBase - code: InvalidArgument -32001, NotFound -32002, ...
constexpr int kStatusErrorBase = -32000;

struct MethodSpec {
  std::string name;
  std::string summary;  // one line
  // Each parameter: name -> "type, required|optional: what it is".
  std::vector<std::pair<std::string, std::string>> params;
  std::string result;  // what the result holds
  json example;        // example params
};

using Handler = std::function<Result<json>(const json& params)>;

// Long polls (a deferred reply). A handler with nothing to answer yet may call
// DeferReply(wait_ms) and return anything: when the request can be held (one request with an
// id, not in a batch, served through HandleLineDeferrable: RpcServer) nothing is sent yet;
// the transport runs the handler again, with the same params, whenever it is woken
// (RpcServer::Wake: something changed) and once more when wait_ms (at most kMaxDeferMs) has
// passed since the request came, or the server stops: then DeferReply returns false and the
// handler answers with what it has. Returns false whenever the request cannot be held: the
// handler answers at once, as it would without a wait.
constexpr uint64_t kMaxDeferMs = 30'000;
bool DeferReply(uint64_t wait_ms);

class MethodTable {
 public:
  void Add(MethodSpec spec, Handler handler);
  const MethodSpec* Find(const std::string& name) const;
  // The handler of a method (an empty function when there is none): to wrap it, Add the
  // method again with a handler that calls this one.
  Handler HandlerOf(const std::string& name) const;
  std::vector<const MethodSpec*> List() const;  // by name

  // Serves one request (or a batch). nullopt when nothing is to be sent back (notifications).
  std::optional<std::string> HandleLine(std::string_view line);
  // The same for an already parsed message.
  std::optional<json> Handle(const json& message);

  // For a transport that can hold a request (see DeferReply).
  struct Outcome {
    std::optional<std::string> reply;  // to send now; nullopt: nothing, or held
    std::optional<json> held;          // the request, when its handler deferred the reply
    uint64_t wait_ms = 0;              // how long it may be held (<= kMaxDeferMs)
  };
  Outcome HandleLineDeferrable(std::string_view line);
  // Runs a held request again; `final`: its wait is over, the handler must answer.
  Outcome HandleHeld(const json& request, bool final);

 private:
  std::optional<json> HandleOne(const json& request);
  Outcome HandleDeferrable(const json& request, bool may_defer);
  struct Entry {
    MethodSpec spec;
    Handler handler;
  };
  std::map<std::string, Entry> methods_;
};

// The JSON of a described method (`topo rpc describe`, method "node.describe").
json DescribeJson(const MethodSpec& spec);

// Request and response helpers for clients.
json MakeRequest(uint64_t id, const std::string& method, const json& params);
// A response's result, or the Status its error stands for.
Result<json> ParseResponse(const json& response, uint64_t id);

// A handler failure as a JSON-RPC error object, and back.
json ErrorObject(const Status& s);
Status StatusFromError(const json& error);

// Reads params: a required or optional member of the expected JSON type; a wrong type or a
// missing required member is InvalidArgument naming the parameter.
Result<std::string> StringParam(const json& params, const char* name);
std::optional<std::string> OptionalString(const json& params, const char* name);
Result<uint64_t> UintParam(const json& params, const char* name, uint64_t fallback);
Result<bool> BoolParam(const json& params, const char* name, bool fallback);
Result<std::vector<std::string>> StringListParam(const json& params, const char* name,
                                                 bool required);

}  // namespace topo::api
