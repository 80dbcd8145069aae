#include "cli/support.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api/daemon.h"
#include "api/rpc_client.h"
#include "node/daemon.h"
#include "node/identity.h"

namespace topo::cli {

using nlohmann::json;

std::optional<std::string> Passphrase(const Globals& g) {
  if (!g.passphrase_file.empty()) {
    std::ifstream in(g.passphrase_file);
    if (!in) throw Failure{Status::IOError("cannot read passphrase file " + g.passphrase_file)};
    std::string line;
    std::getline(in, line);
    return line;
  }
  if (const char* env = std::getenv("TOPO_PASSPHRASE"); env && *env) return std::string(env);
  return std::nullopt;
}

void RequireDb(const Globals& g) {
  if (g.db.empty())
    throw Failure{Status::InvalidArgument("no database: pass --db PATH or set TOPO_DB")};
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

std::string AbsoluteDb(const Globals& g) {
  RequireDb(g);
  return Absolute(g.db);
}

namespace {

api::DaemonOptions DaemonOptionsFor(const Globals& g) {
  api::DaemonOptions o;
  RequireDb(g);
  // As typed: the daemon keeps this command's working directory, and its messages then name
  // the files the way the user did.
  o.db = g.db;
  o.passphrase = Passphrase(g);
  auto level = node::ParseLogLevel(g.log_level);
  if (!level) throw Failure{Status::InvalidArgument("--log-level must be debug, info, warn or error")};
  o.log_level = *level;
  return o;
}

}  // namespace

json Call(Globals& g, const std::string& method, json params, Start start) {
  std::string db = AbsoluteDb(g);
  if (!g.workspace.empty() && !params.contains("workspace")) params["workspace"] = g.workspace;
  // JSON carries only UTF-8: an argument that is not is refused here, not mangled.
  try {
    (void)params.dump();
  } catch (const json::exception&) {
    throw Failure{Status::InvalidArgument("text is not valid UTF-8 (in the command's arguments)")};
  }
  auto client = api::RpcClient::Connect(node::SocketPath(db));
  for (int attempt = 0; !client.ok() && client.status().code() == Code::kNotFound; ++attempt) {
    if (start == Start::kExisting && !node::PathExists(db))
      throw Failure{Status::NotFound("no database at " + g.db + " (create one with: topo --db " +
                                     g.db + " init)")};
    if (attempt == 3) break;
    std::cout.flush();
    std::cerr.flush();
    Status s = api::StartDetached(DaemonOptionsFor(g));
    if (!s.ok() && s.code() != Code::kAlreadyExists) throw Failure{s};
    // A daemon another command started a moment ago may not listen yet (or may be exiting:
    // then this starts one again).
    for (int i = 0; i < 100; ++i) {
      client = api::RpcClient::Connect(node::SocketPath(db));
      if (client.ok() || client.status().code() != Code::kNotFound || !node::RunningDaemon(db))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!client.ok()) throw Failure{client.status()};
  return Check(client->Call(method, params));
}

json CallWithPath(Globals& g, const std::string& method, json params, const std::string& param,
                  const std::string& typed) {
  const std::string abs = Absolute(typed);
  params[param] = abs;
  try {
    return Call(g, method, std::move(params));
  } catch (const Failure& f) {
    std::string m = f.status.message();
    for (size_t at = m.find(abs); at != std::string::npos; at = m.find(abs, at + typed.size()))
      m.replace(at, abs.size(), typed);
    throw Failure{Status(f.status.code(), m)};
  }
}

void Print(const Globals& g, const json& j, const std::string& text) {
  if (g.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << "\n";
  }
}

std::string ReportText(const json& r) {
  std::ostringstream o;
  o << r.value("applied", 0) << " applied, " << r.value("duplicate", 0) << " already here, "
    << r.value("blocked", 0) << " waiting for parents, " << r.value("rejected", 0)
    << " rejected, " << r.value("invalid", 0) << " invalid\n";
  if (r.contains("problems"))
    for (const auto& p : r["problems"]) o << "  " << p.get<std::string>() << "\n";
  return o.str();
}

std::function<void()> Run(Globals& g, std::function<void()> body) {
  return [&g, body = std::move(body)] {
    try {
      body();
    } catch (const Failure& f) {
      std::cerr << "topo: " << f.status.message() << "\n";
      g.exit_code = 1;
    } catch (const std::exception& e) {
      std::cerr << "topo: internal error: " << e.what() << "\n";
      g.exit_code = 1;
    }
  };
}

}  // namespace topo::cli
