// The daemon's commands: start, stop, status, the accounts it hosts (accounts, account add,
// account remove), and rpc (methods, describe, call).
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
  std::vector<std::string> accounts;  // start --account
  std::string account;                // account add / remove
  bool create = false;
  std::string device_name = "device";
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
  for (const auto& a : dargs.accounts) o.accounts.push_back(Absolute(a));
  return o;
}

std::string Plural(uint64_t n, const std::string& what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// `topo accounts`: one paragraph per account.
std::string AccountsText(const json& j) {
  std::ostringstream o;
  o << "pid " << j["pid"].get<int64_t>() << ", " << Plural(j["accounts"].size(), "account") << "\n";
  for (const auto& a : j["accounts"]) {
    o << a["db"].get<std::string>() << "  " << a["state"].get<std::string>();
    if (a["primary"].get<bool>())
      o << "  (first: keeps the list)";
    else if (a["remembered"].get<bool>())
      o << "  (remembered)";
    o << "\n";
    if (a.contains("error")) {
      o << "  error    " << a["error"].get<std::string>() << "\n";
      continue;
    }
    if (a["device_key"].is_null()) {
      o << "  device   none yet (topo init, create-workspace or accept creates it)\n";
    } else {
      o << "  device   " << a["device_key"].get<std::string>().substr(0, 16) << "  ("
        << a["device_name"].get<std::string>() << ")\n"
        << "  user     " << a["user_key"].get<std::string>().substr(0, 16) << "\n";
    }
    if (a["listening"].is_string())
      o << "  listens  " << a["listening"].get<std::string>() << " (QUIC)\n";
    o << "  spaces   " << Plural(a["workspaces"].get<uint64_t>(), "workspace") << "\n"
      << "  socket   " << a["socket"].get<std::string>() << "\n";
  }
  return o.str();
}

// The accounts the daemon serving `db` hosts besides it (0 when it is alone, or too old to
// say).
size_t OtherAccounts(api::RpcClient& client, const std::string& db) {
  auto j = client.Call("daemon.accounts", json::object());
  if (!j.ok()) return 0;
  size_t n = 0;
  for (const auto& a : (*j)["accounts"]) n += a["db"] != db && a["state"] == "serving";
  return n;
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
  start->add_option("--account", dargs.accounts,
                    "Another database to host in the same process (repeatable; remembered)");
  start->footer(
      "Every other command starts the daemon when it is not running; start is for choosing\n"
      "its options. Files beside the database: DB.sock (JSON-RPC), DB.pid, DB.log.\n"
      "One process may host several databases (accounts): --account, or later `account add`.\n"
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
    std::string text =
        "started, pid " + std::to_string(s["pid"].get<int64_t>()) + "\n" + StatusText(s);
    if (o.accounts.empty()) {
      Print(g, s, text);
      return;
    }
    // The daemon serves even when an --account could not be opened: say which, and fail.
    json accounts = Check(client.Call("daemon.accounts", json::object()));
    s["accounts"] = accounts["accounts"];
    Print(g, s, text + AccountsText(accounts));
    for (const auto& a : accounts["accounts"])
      if (a["state"] == "failed") {
        std::cerr << "topo: cannot host " << a["db"].get<std::string>() << ": "
                  << a["error"].get<std::string>() << "\n";
        g.exit_code = 1;
      }
  }));

  auto* stop = app.add_subcommand("stop", "Stop this database's daemon (or account)");
  stop->footer(
      "In a daemon hosting several accounts, stops only this one (it stays remembered: the\n"
      "daemon opens it again when it starts); the process ends with its last account.");
  stop->callback(Run(g, [&g] {
    std::string db = AbsoluteDb(g);
    auto pid = node::RunningDaemon(db);
    if (!pid) {
      Print(g, json{{"stopped", false}, {"running", false}}, "not running");
      return;
    }
    auto client = Check(api::RpcClient::Connect(node::SocketPath(db)));
    const size_t others = OtherAccounts(client, db);
    Check(client.Call("node.stop", json::object(), 10'000));
    for (int i = 0; i < 300 && node::RunningDaemon(db); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (node::RunningDaemon(db))
      throw Failure{Status::Internal("the daemon (pid " + std::to_string(*pid) +
                                     ") did not stop within 15 s")};
    if (others > 0) {
      Print(g, json{{"stopped", true}, {"pid", *pid}, {"other_accounts", others}},
            "stopped (pid " + std::to_string(*pid) + " still serves " +
                Plural(others, "other account") + ")");
      return;
    }
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

  auto* accounts = app.add_subcommand("accounts", "The accounts (databases) this daemon hosts");
  accounts->callback(Run(g, [&g] {
    json j = Call(g, "daemon.accounts", json::object());
    Print(g, j, AccountsText(j));
  }));
  auto* account = app.add_subcommand("account", "Host another database in this daemon");
  account->require_subcommand(1);
  auto* account_add =
      account->add_subcommand("add", "Open another database in this daemon's process");
  account_add->add_option("path", dargs.account, "The database")->required();
  account_add->add_flag("--create", dargs.create, "Create it (and its identity) when missing");
  account_add->add_option("--bind", dargs.bind,
                          "HOST:PORT its network listens on (remembered with it)");
  account_add->add_option("--device-name", dargs.device_name,
                          "This device's name in a database made with --create");
  account_add->footer(
      "Its passphrase comes from --passphrase-file or TOPO_PASSPHRASE, as for start. It is\n"
      "remembered in the first database's settings and opened again whenever the daemon\n"
      "starts (with the daemon's passphrase). Every command reaches it as before:\n"
      "  topo --db work.db account add home.db && topo --db home.db messages");
  account_add->callback(Run(g, [&g] {
    json params{{"create", dargs.create}, {"device_name", dargs.device_name}};
    if (!dargs.bind.empty()) params["bind"] = dargs.bind;
    // Over the socket, which only this user may open (0600); the daemon never logs params.
    if (auto p = Passphrase(g)) params["passphrase"] = *p;
    json j = CallWithPath(g, "daemon.open_account", params, "db", dargs.account);
    Print(
        g, j,
        std::string(j["created"].get<bool>() ? "created and hosting " : "hosting ") +
            dargs.account + " in pid " + std::to_string(j["pid"].get<int64_t>()) +
            (j["remembered"].get<bool>() ? ""
                                         : " (not remembered: the first account is not serving)"));
  }));
  auto* account_remove = account->add_subcommand(
      "remove", "Stop an account this daemon hosts and forget it (its database stays)");
  account_remove->add_option("path", dargs.account, "The database")->required();
  account_remove->callback(Run(g, [&g] {
    std::string abs = Absolute(dargs.account);
    json j = CallWithPath(g, "daemon.remove_account", json::object(), "db", dargs.account);
    for (int i = 0; i < 300 && node::RunningDaemon(abs); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Print(g, j, "removed " + dargs.account + " (its database stays)");
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
