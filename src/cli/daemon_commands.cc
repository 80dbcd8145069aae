// The daemon's commands: start, stop, status, and rpc (methods, describe, call).
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "api/daemon.h"
#include "api/rpc_client.h"
#include "cli/support.h"
#include "node/daemon.h"

namespace topo::cli {
namespace {

using nlohmann::json;

struct DaemonArgs {
  std::string bind;
  bool foreground = false;
  bool low_memory = false;
  std::string method, params, file, address, device;
  bool from_stdin = false;
};
DaemonArgs dargs;

api::DaemonOptions Options(const Globals& g) {
  api::DaemonOptions o;
  RequireDb(g);
  o.db = g.db;  // as typed (see cli/support.cc)
  o.passphrase = Passphrase(g);
  auto level = node::ParseLogLevel(g.log_level);
  if (!level)
    throw Failure{Status::InvalidArgument("--log-level must be debug, info, warn or error")};
  o.log_level = *level;
  o.bind = dargs.bind;
  o.low_memory = dargs.low_memory;
  return o;
}

std::string StatusText(const json& s) {
  std::ostringstream o;
  o << "running  pid " << s["pid"].get<int64_t>() << "\n"
    << "db       " << s["db"].get<std::string>() << "\n"
    << "socket   " << s["socket"].get<std::string>() << "\n"
    << "log      " << s["log"].get<std::string>() << " (" << s["log_level"].get<std::string>()
    << ")\n";
  if (s["identity"].is_null()) {
    o << "device   none yet (topo init, create-workspace or accept creates it)\n";
  } else {
    o << "device   " << s["identity"]["device_key"].get<std::string>() << "  ("
      << s["identity"]["device_name"].get<std::string>() << ")\n";
  }
  o << "listens  "
    << (s["listening"].is_null() ? std::string("nowhere yet (no identity)")
                                 : s["listening"].get<std::string>() + " (QUIC)")
    << "\n"
    << "peers    " << s["peers"].size() << "\n";
  for (const auto& p : s["peers"])
    o << "  " << p["device"].get<std::string>().substr(0, 16) << "  "
      << p["address"].get<std::string>() << "  " << p["admission"].get<std::string>() << "\n";
  o
    << "objects  " << s["objects"].size() << "\n";
  for (const auto& obj : s["objects"])
    o << "  " << obj["object"].get<std::string>().substr(0, 8) << "  "
      << obj["type"].get<std::string>() << "  " << obj["vertices"].get<uint64_t>()
      << " vertices\n";
  return o.str();
}

}  // namespace

void PrintPeers(Globals& g) {
  json j = Call(g, "peer.list", json::object());
  std::ostringstream text;
  text << "listening on " << j["listening"].get<std::string>() << "\n";
  for (const auto& p : j["peers"]) {
    text << p["device"].get<std::string>().substr(0, 16) << "  " << p["address"].get<std::string>()
         << "  " << (p["inbound"].get<bool>() ? "in " : "out") << "  "
         << p["admission"].get<std::string>();
    if (p.contains("sync"))
      text << "  " << p["sync"]["vertices_received"].get<uint64_t>() << " received, "
           << p["sync"]["vertices_sent"].get<uint64_t>() << " sent"
           << (p["sync"]["pull_complete"].get<bool>() ? "" : " (syncing)");
    text << "\n";
  }
  if (j["peers"].empty()) text << "no peers connected\n";
  Print(g, j, text.str());
}

void RegisterDaemon(CLI::App& app, Globals& g) {
  auto* start = app.add_subcommand("start", "Start this database's daemon");
  start->add_option("--bind", dargs.bind, "HOST:PORT to listen on for peers");
  start->add_flag("--foreground", dargs.foreground, "Stay in the foreground, logging to stderr");
  start->add_flag("--low-memory", dargs.low_memory,
                  "Use less memory: smaller caches, ingest batches and sync windows");
  start->footer(
      "Every other command starts the daemon when it is not running; start is for choosing\n"
      "its options. Files beside the database: DB.sock (JSON-RPC), DB.pid, DB.log.\n"
      "Example: topo --db alice.db start --bind 127.0.0.1:7001 --log-level debug");
  start->callback(Run(g, [&g] {
    auto o = Options(g);
    if (dargs.foreground) {
      o.log_to_stderr = true;
      Check(api::RunDaemon(o, -1));
      return;
    }
    Check(api::StartDetached(o));
    auto client = Check(api::RpcClient::Connect(node::SocketPath(AbsoluteDb(g))));
    json s = Check(client.Call("node.status", json::object()));
    Print(g, s, "started, pid " + std::to_string(s["pid"].get<int64_t>()) + "\n" + StatusText(s));
  }));

  auto* stop = app.add_subcommand("stop", "Stop this database's daemon");
  stop->callback(Run(g, [&g] {
    std::string db = AbsoluteDb(g);
    auto pid = node::RunningDaemon(db);
    if (!pid) {
      Print(g, json{{"stopped", false}, {"running", false}}, "not running");
      return;
    }
    auto client = Check(api::RpcClient::Connect(node::SocketPath(db)));
    Check(client.Call("node.stop", json::object(), 10'000));
    for (int i = 0; i < 300 && node::RunningDaemon(db); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (node::RunningDaemon(db))
      throw Failure{Status::Internal("the daemon (pid " + std::to_string(*pid) +
                                     ") did not stop within 15 s")};
    // It released its pid file just before it exits: let it finish.
    for (int i = 0; i < 100 && ::kill(*pid, 0) == 0; ++i) {
      std::ifstream stat("/proc/" + std::to_string(*pid) + "/stat");
      std::string line;
      std::getline(stat, line);
      size_t close = line.rfind(')');
      if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Print(g, json{{"stopped", true}, {"pid", *pid}}, "stopped (pid " + std::to_string(*pid) + ")");
  }));

  auto* status = app.add_subcommand("status", "The daemon: identity, addresses, peers, objects");
  status->callback(Run(g, [&g] {
    std::string db = AbsoluteDb(g);
    if (!node::RunningDaemon(db)) {
      Print(g, json{{"running", false}, {"db", db}},
            "not running (start it with: topo --db " + g.db + " start)");
      return;
    }
    auto client = Check(api::RpcClient::Connect(node::SocketPath(db)));
    json s = Check(client.Call("node.status", json::object()));
    s["running"] = true;
    Print(g, s, StatusText(s));
  }));

  auto* peer = app.add_subcommand("peer", "Peers this node keeps connected");
  peer->require_subcommand(1);
  auto* add = peer->add_subcommand("add", "Connect to a peer at HOST:PORT and keep connecting");
  add->add_option("address", dargs.address, "HOST:PORT, e.g. 192.168.1.20:7001 or [::1]:7001")
      ->required();
  add->add_option("--device", dargs.device,
                  "The peer's device key (hex): the connection is refused unless it proves it");
  add->footer(
      "Remembered in the database: the daemon dials it at every start. Without --device any\n"
      "key is accepted at the handshake; the peer is then served only what it may read.\n"
      "Example: topo --db alice.db peer add 127.0.0.1:7002");
  add->callback(Run(g, [&g] {
    json params{{"address", dargs.address}};
    if (!dargs.device.empty()) params["device"] = dargs.device;
    json j = Call(g, "peer.add", params);
    Print(g, j, "added peer " + dargs.address);
  }));
  auto* list = peer->add_subcommand("list", "Connected peers and the addresses kept dialing");
  list->callback(Run(g, [&g] { PrintPeers(g); }));

  auto* rpc = app.add_subcommand("rpc", "The daemon's JSON-RPC API, without writing a client");
  rpc->require_subcommand(1);
  auto* methods = rpc->add_subcommand("methods", "List the methods");
  methods->callback(Run(g, [&g] {
    json all = Call(g, "node.methods", json::object(), Start::kCreates);
    std::ostringstream text;
    for (const auto& m : all)
      text << m["method"].get<std::string>() << std::string(
                                                    m["method"].get<std::string>().size() < 24
                                                        ? 24 - m["method"].get<std::string>().size()
                                                        : 1,
                                                    ' ')
           << m["summary"].get<std::string>() << "\n";
    Print(g, all, text.str());
  }));
  auto* describe = rpc->add_subcommand("describe", "A method's parameters, result and an example");
  describe->add_option("method", dargs.method, "The method, e.g. object.show")->required();
  describe->callback(Run(g, [&g] {
    json d = Call(g, "node.describe", {{"method", dargs.method}}, Start::kCreates);
    std::ostringstream text;
    text << d["method"].get<std::string>() << ": " << d["summary"].get<std::string>() << "\n"
         << "params:\n";
    if (d["params"].empty()) text << "  (none)\n";
    for (auto& [name, what] : d["params"].items())
      text << "  " << name << ": " << what.get<std::string>() << "\n";
    text << "result: " << d["result"].get<std::string>() << "\n"
         << "example: " << d["example"].dump() << "\n";
    Print(g, d, text.str());
  }));
  auto* call = rpc->add_subcommand("call", "Call a method: rpc call METHOD [PARAMS_JSON]");
  call->add_option("method", dargs.method, "The method, e.g. object.list")->required();
  call->add_option("params", dargs.params, "The params as a JSON object (default {})");
  call->add_option("--file", dargs.file, "Read the params from this file");
  call->add_flag("--stdin", dargs.from_stdin, "Read the params from standard input");
  call->footer("Example: topo rpc call object.show '{\"object\": \"3e3ae4c3\"}'");
  call->callback(Run(g, [&g] {
    int sources = !dargs.params.empty() + !dargs.file.empty() + dargs.from_stdin;
    if (sources > 1)
      throw Failure{Status::InvalidArgument("give the params one way: inline, --file or --stdin")};
    std::string text = dargs.params;
    if (!dargs.file.empty()) {
      std::ifstream in(dargs.file);
      if (!in) throw Failure{Status::IOError("cannot read " + dargs.file)};
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else if (dargs.from_stdin) {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    json params = text.empty() ? json::object() : json::parse(text, nullptr, false);
    if (params.is_discarded() || !params.is_object())
      throw Failure{Status::InvalidArgument("the params must be a JSON object")};
    json result = Call(g, dargs.method, params, Start::kCreates);
    Print(g, result, result.dump(2));
  }));
}

}  // namespace topo::cli
