#include "api/host.h"

#include <unistd.h>

#include <asio/post.hpp>
#include <filesystem>

#include "api/methods.h"
#include "api/rpc_server.h"
#include "api/service.h"
#include "node/identity.h"
#include "store/settings.h"
#include "util/encoding.h"

namespace topo::api {

namespace {
constexpr auto kWatchInterval = std::chrono::seconds(2);
// Lets the reply to node.stop reach its client before the connections close.
constexpr auto kLinger = std::chrono::milliseconds(100);
}  // namespace

struct Host::Account {
  std::string db;  // as opened: as typed for the primary, absolute for the others
  bool primary = false;
  Status error;  // why it could not be opened; then nothing below is set
  std::unique_ptr<node::Log> log;
  std::optional<node::PidLock> lock;
  std::unique_ptr<node::Node> node;
  std::unique_ptr<Service> service;
  std::unique_ptr<RpcServer> server;
  std::unique_ptr<asio::steady_timer> watch, linger;
};

Host::Host(asio::io_context& io, HostOptions options)
    : io_(io),
      options_(std::move(options)),
      primary_key_(Key(options_.primary)),
      signals_(io, SIGINT, SIGTERM) {}

Host::~Host() = default;

std::string Host::Key(const std::string& db) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(db, ec);
  return ec ? db : abs.lexically_normal().string();
}

node::Log& Host::log() {
  auto it = accounts_.find(primary_key_);
  if (it != accounts_.end() && it->second->log) return *it->second->log;
  return fallback_log_;
}

size_t Host::Serving() const {
  size_t n = 0;
  for (const auto& [_, a] : accounts_) n += a->error.ok();
  return n;
}

Status Host::OpenPrimary() {
  auto a = Open(options_.primary, /*primary=*/true, /*create=*/false, options_.passphrase,
                options_.bind, "device");
  if (!a.ok()) return a.status();
  accounts_[primary_key_] = std::move(a).value();
  Serve(*accounts_[primary_key_]);
  signals_.async_wait([this](asio::error_code ec, int sig) {
    if (!ec) StopAll(sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  return Status::Ok();
}

Result<std::unique_ptr<Host::Account>> Host::Open(const std::string& db, bool primary, bool create,
                                                  const std::optional<std::string>& passphrase,
                                                  const std::string& bind,
                                                  const std::string& device_name) {
  auto a = std::make_unique<Account>();
  a->db = db;
  a->primary = primary;
  // A secondary account with no database and no `create` leaves no files behind (the log
  // would be the only trace of a typo).
  if (!primary && !create && !node::PathExists(db))
    return Status::NotFound("no database at " + db + " (create one with: topo --db " + db +
                            " init, or add it with --create)");
  a->log = std::make_unique<node::Log>();
  a->log->set_level(options_.log_level);
  if (!(primary && options_.log_to_stderr)) {
    if (auto s = a->log->OpenFile(node::LogPath(db)); !s.ok()) return s;
  }
  auto fail = [&](Status s) {
    a->log->Error("cannot start: " + s.message());
    return s;  // `a` (and its pid lock) goes before the caller hears of it
  };
  auto lock = node::PidLock::Acquire(db);
  if (!lock.ok()) return fail(lock.status());
  a->lock.emplace(std::move(lock).value());
  if (auto s = a->lock->WritePid(); !s.ok()) return fail(s);

  node::NodeOptions no;
  no.db = db;
  no.passphrase = passphrase;
  no.bind = bind;
  no.low_memory = options_.low_memory;
  auto n = node::Node::Open(io_, no, *a->log);
  if (!n.ok()) return fail(n.status());
  a->node = std::move(n).value();
  if (create) {
    auto made = a->node->EnsureIdentity(device_name);
    if (!made.ok()) return fail(made.status());
  }
  a->service = std::make_unique<Service>(*a->node);
  AddDaemonMethods(a->service->methods());
  auto server = RpcServer::Listen(io_, node::SocketPath(db), a->service->methods(), *a->log);
  if (!server.ok()) return fail(server.status());
  a->server = std::move(server).value();
  // Long polls (chat.events with wait_ms) are run again when something was applied.
  RpcServer* rpc = a->server.get();
  a->node->SetAppliedListener("rpc.wake",
                              [rpc](std::span<const object::AppliedVertex>) { rpc->Wake(); });
  a->watch = std::make_unique<asio::steady_timer>(io_);
  a->linger = std::make_unique<asio::steady_timer>(io_);
  return a;
}

void Host::Serve(Account& a) {
  const std::string key = Key(a.db);
  Watch(a);
  a.node->on_stop = [this, &a, key](const std::string&) {
    a.watch->cancel();
    a.server->Release();  // held long polls are answered now, not at the end of their wait
    a.linger->expires_after(kLinger);
    a.linger->async_wait([this, &a, key](asio::error_code) {
      a.server->Close();
      // Not here: this handler belongs to the account.
      asio::post(io_, [this, key] { Retire(key); });
    });
  };
  a.log->Info("serving " + a.db + " on " + node::SocketPath(a.db) + " (pid " +
              std::to_string(::getpid()) + ")");
}

// Stops the account when its pid file is gone (its database's directory was removed).
void Host::Watch(Account& a) {
  a.watch->expires_after(kWatchInterval);
  a.watch->async_wait([this, &a](asio::error_code ec) {
    if (ec || a.node->stopping()) return;
    if (!node::PathExists(node::PidPath(a.db))) {
      a.node->Stop("its pid file " + node::PidPath(a.db) + " was removed");
      return;
    }
    Watch(a);
  });
}

void Host::Retire(const std::string& key) {
  auto it = accounts_.find(key);
  if (it == accounts_.end()) return;
  std::unique_ptr<Account> a = std::move(it->second);
  accounts_.erase(it);
  a->log->Info("stopped");
  // Released now: `topo stop` waits for it, and another daemon may take the database over.
  a->lock.reset();
  if (Serving() == 0) {
    // The last one: nothing may keep the loop (and the process) alive; what is retired goes
    // when the host does, after the loop.
    signals_.cancel();
    for (auto& r : retired_)
      if (r.grace) r.grace->cancel();
    retired_.push_back({std::move(a), nullptr});
    return;
  }
  auto grace = std::make_unique<asio::steady_timer>(io_);
  grace->expires_after(kRetireGrace);
  retired_.push_back({std::move(a), std::move(grace)});
  auto at = std::prev(retired_.end());
  at->grace->async_wait([this, at](asio::error_code ec) {
    if (ec) return;  // the loop is ending: the host destroys it
    asio::post(io_, [this, at] { retired_.erase(at); });
  });
}

void Host::StopAll(const std::string& why) {
  for (auto& [_, a] : accounts_)
    if (a->node) a->node->Stop(why);
}

// ---- the primary's list ----

std::map<std::string, std::string> Host::RememberedList() {
  std::map<std::string, std::string> out;
  auto it = accounts_.find(primary_key_);
  if (it == accounts_.end() || !it->second->node || it->second->node->stopping()) return out;
  auto r = it->second->node->replica();
  if (!r.ok()) return out;
  auto all = store::ListSettings((*r)->database(), kAccountSettingPrefix);
  if (!all.ok()) return out;
  const size_t skip = std::string_view(kAccountSettingPrefix).size();
  for (const auto& [k, v] : *all) out[k.substr(skip)] = v;
  return out;
}

bool Host::Remember(const std::string& key, bool add, const std::string& bind) {
  auto it = accounts_.find(primary_key_);
  if (it == accounts_.end() || !it->second->node || it->second->node->stopping()) return false;
  auto r = it->second->node->replica();
  if (!r.ok()) return false;
  std::string setting = std::string(kAccountSettingPrefix) + key;
  Status s = add ? store::PutSetting((*r)->database(), setting, bind)
                 : store::DeleteSetting((*r)->database(), setting);
  if (!s.ok()) log().Warn("cannot update the list of accounts: " + s.message());
  return s.ok();
}

Result<Host::Opened> Host::OpenAccount(const std::string& db, bool create,
                                       const std::optional<std::string>& passphrase,
                                       const std::string& bind, const std::string& device_name) {
  const std::string key = Key(db);
  if (auto it = accounts_.find(key); it != accounts_.end() && it->second->error.ok())
    return Status::AlreadyExists(db + " is already hosted by this daemon (pid " +
                                 std::to_string(::getpid()) + ")");
  // A retired one may still hold its database open for kRetireGrace: harmless (SQLite, WAL),
  // its socket is gone and its pid lock released.
  const bool existed = node::PathExists(key);
  auto a = Open(key, /*primary=*/false, create, passphrase, bind, device_name);
  if (!a.ok()) {
    log().Warn("cannot host " + key + ": " + a.status().message());
    if (auto it = accounts_.find(key); it != accounts_.end()) it->second->error = a.status();
    return a.status();
  }
  accounts_[key] = std::move(a).value();
  Serve(*accounts_[key]);
  log().Info("hosting " + key + " too");
  return Opened{create && !existed, Remember(key, true, bind)};
}

void Host::OpenAtStart(const std::vector<std::string>& more) {
  std::vector<std::pair<std::string, std::string>> all;  // path, bind
  for (const auto& db : more) all.emplace_back(Key(db), "");
  for (const auto& [key, bind] : RememberedList()) all.emplace_back(key, bind);
  for (const auto& [key, bind] : all) {
    if (accounts_.count(key)) continue;
    auto opened = OpenAccount(key, false, options_.passphrase, bind);
    if (!opened.ok()) {
      // Kept to be listed, with its error; `account add` tries again.
      auto failed = std::make_unique<Account>();
      failed->db = key;
      failed->error = opened.status();
      accounts_[key] = std::move(failed);
    }
  }
}

Status Host::RemoveAccount(const std::string& db) {
  const std::string key = Key(db);
  if (key == primary_key_)
    return Status::InvalidArgument(db +
                                   " is this daemon's first account, which keeps the list "
                                   "of the others: stop it with: topo --db " +
                                   db + " stop");
  auto it = accounts_.find(key);
  bool forgotten = RememberedList().count(key) && Remember(key, false);
  if (it == accounts_.end()) {
    if (forgotten) return Status::Ok();
    return Status::NotFound(db + " is not hosted by this daemon (see: topo accounts)");
  }
  if (!it->second->error.ok()) {
    accounts_.erase(it);  // a failed one has nothing running
  } else {
    it->second->node->Stop("removed from the daemon's accounts");
  }
  return Status::Ok();
}

nlohmann::json Host::Accounts() {
  using nlohmann::json;
  auto remembered = RememberedList();
  json all = json::array();
  // The primary first, then the others by path.
  std::vector<std::pair<std::string, Account*>> order;
  for (const auto& [key, a] : accounts_)
    order.insert(key == primary_key_ ? order.begin() : order.end(), {key, a.get()});
  for (const auto& [key, a] : order) {
    json j{{"db", key},
           {"socket", node::SocketPath(key)},
           {"log", node::LogPath(key)},
           {"primary", a->primary},
           {"remembered", remembered.count(key) > 0}};
    if (!a->error.ok()) {
      j["state"] = "failed";
      j["error"] = a->error.message();
      all.push_back(std::move(j));
      continue;
    }
    j["state"] = a->node->stopping() ? "stopping" : "serving";
    j["device_key"] = j["device_name"] = j["user_key"] = nullptr;
    j["workspaces"] = 0;
    auto* net = a->node->network();
    j["listening"] = net ? json(net->local_address()) : json(nullptr);
    if (auto id = a->node->identity(); id.ok()) {
      j["device_key"] = HexEncode((*id)->device.public_key().view());
      j["device_name"] = (*id)->device_name;
      j["user_key"] = HexEncode((*id)->user.public_key().view());
      // As `topo workspaces` counts them.
      if (auto list = a->service->methods().HandlerOf("workspace.list")) {
        auto ws = list(json::object());
        if (ws.ok() && ws->is_array()) j["workspaces"] = ws->size();
      }
    }
    all.push_back(std::move(j));
  }
  return json{{"pid", ::getpid()}, {"accounts", all}};
}

void Host::AddDaemonMethods(MethodTable& t) {
  AddMethod(t,
            {"daemon.accounts",
             "The accounts (databases) this daemon process hosts",
             {},
             "{pid, accounts: [{db, socket, log, primary, remembered, state (serving | stopping "
             "| failed), error?, device_key, device_name, user_key, workspaces}]}",
             json::object()},
            [this](const json&) { return Accounts(); });
  AddMethod(t,
            {"daemon.open_account",
             "Opens another database in this daemon process, remembered across restarts",
             {{"db", "string, required: absolute path of the database"},
              {"create", "bool, optional: create the database and its identity when missing"},
              {"passphrase", "string, optional: the passphrase of its key file"},
              {"device_name", "string, optional: this device's name when created (\"device\")"},
              {"bind", "string, optional: HOST:PORT its network listens on (default 127.0.0.1:0)"}},
             "{db, socket, pid, created, remembered}",
             {{"db", "/home/me/home.db"}}},
            [this](const json& params) {
              std::string db = Check(StringParam(params, "db"));
              if (db.empty() || db[0] != '/')
                throw Failure{Status::InvalidArgument("db must be an absolute path")};
              bool create = Check(BoolParam(params, "create", false));
              auto opened =
                  Check(OpenAccount(db, create, OptionalString(params, "passphrase"),
                                    OptionalString(params, "bind").value_or(""),
                                    OptionalString(params, "device_name").value_or("device")));
              return json{{"db", db},
                          {"socket", node::SocketPath(db)},
                          {"pid", ::getpid()},
                          {"created", opened.created},
                          {"remembered", opened.remembered}};
            });
  AddMethod(t,
            {"daemon.remove_account",
             "Stops an account this daemon hosts (not its first) and forgets it",
             {{"db", "string, required: absolute path of the database"}},
             "{db, removed: true}",
             {{"db", "/home/me/home.db"}}},
            [this](const json& params) {
              std::string db = Check(StringParam(params, "db"));
              Check(RemoveAccount(db));
              return json{{"db", db}, {"removed", true}};
            });
}

}  // namespace topo::api
