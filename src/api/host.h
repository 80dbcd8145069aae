// The accounts one daemon process hosts (docs/ARCHITECTURE.md, "The daemon"). An account is
// one database: its own pid lock (DB.pid holds this process's pid), node::Node, Service,
// RpcServer on DB.sock and log DB.log, all on the host's one event loop. Every per-database
// command reaches its account through that account's socket, as with a daemon of its own.
//
// The first account (the primary, the database the daemon was started for) keeps the list
// of the others in its settings (kAccountSettingPrefix + absolute path): they are opened
// again, with the daemon's passphrase, whenever the daemon starts. One that fails to open is
// logged and listed with its error, and does not stop the others.
//
// Stopping: an account stops on node.stop, when its pid file is removed, or when it is
// removed from the host (forgotten too); SIGTERM and SIGINT stop every account. The event
// loop, and so the daemon, ends once no account serves. Stopping does not forget an account;
// removing does.
//
// Lifetimes: an account is stopped from inside its own callbacks (an RPC on its socket, its
// node's on_stop), so nothing of it is destroyed there. A stopped account is retired: its pid
// lock released at once, its objects kept until kRetireGrace later (the cancelled handlers
// that still name them have run by then) or until the loop ends.
//
// Not thread-safe: everything runs on the loop's thread.
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/daemon.h"
#include "node/log.h"
#include "node/node.h"
#include "util/status.h"

namespace topo::api {

class MethodTable;
class RpcServer;
class Service;

constexpr char kAccountSettingPrefix[] = "daemon.account.";
constexpr auto kRetireGrace = std::chrono::seconds(2);

struct HostOptions {
  std::string primary;  // the database the daemon was started for, as typed
  // The primary's key file passphrase; also used to re-open the remembered accounts (never
  // stored).
  std::optional<std::string> passphrase;
  std::string bind;  // the primary's network address ("" = node::kDefaultBind)
  node::LogLevel log_level = node::LogLevel::kInfo;
  bool log_to_stderr = false;  // the primary's log only; the others write DB.log
  bool low_memory = false;
};

class Host {
 public:
  Host(asio::io_context& io, HostOptions options);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Opens the primary account and starts watching for SIGINT / SIGTERM. Its failure is the
  // daemon's (logged in its DB.log, or on stderr).
  Status OpenPrimary();

  // Opens another database in this process, and remembers it in the primary's settings when
  // the primary serves. Errors: AlreadyExists (hosted here already, or served by another
  // daemon, naming its pid), NotFound (no database there and not `create`), the keystore's
  // (wrong passphrase, with node::WithPassphraseHint's advice).
  struct Opened {
    bool created = false;     // `create` made the database now
    bool remembered = false;  // written to the primary's list
  };
  // `bind`: where its network listens ("" = node::kDefaultBind), remembered with it.
  Result<Opened> OpenAccount(const std::string& db, bool create,
                             const std::optional<std::string>& passphrase,
                             const std::string& bind = "",
                             const std::string& device_name = "device");
  // At start: opens `more` (`start --account`), then every account the primary's settings
  // list. Failures are logged and kept for Accounts(); `account add` tries one again.
  void OpenAtStart(const std::vector<std::string>& more);
  // Stops an account hosted here (not the primary) and forgets it. NotFound when it is
  // neither hosted nor remembered.
  Status RemoveAccount(const std::string& db);

  // {pid, accounts: [{db, socket, log, primary, remembered, state, error?, device_key,
  // device_name, user_key, workspaces, listening}]}: state is "serving", "stopping" or
  // "failed".
  nlohmann::json Accounts();
  // Asks every account to stop.
  void StopAll(const std::string& why);

  // The primary's log (for RunDaemon's own lines).
  node::Log& log();
  // The absolute, normal form of a database path: how accounts are told apart.
  static std::string Key(const std::string& db);

 private:
  struct Account;
  Result<std::unique_ptr<Account>> Open(const std::string& db, bool primary, bool create,
                                        const std::optional<std::string>& passphrase,
                                        const std::string& bind, const std::string& device_name);
  // daemon.accounts, daemon.open_account, daemon.remove_account: on every account's socket.
  void AddDaemonMethods(MethodTable& t);
  void Serve(Account& a);
  void Watch(Account& a);
  void Retire(const std::string& key);
  // Absolute path -> the account's bind ("" = the default).
  std::map<std::string, std::string> RememberedList();
  bool Remember(const std::string& key, bool add, const std::string& bind = "");
  size_t Serving() const;

  asio::io_context& io_;
  HostOptions options_;
  std::string primary_key_;
  std::map<std::string, std::unique_ptr<Account>> accounts_;  // by Key(db)
  struct Retired {
    std::unique_ptr<Account> account;
    std::unique_ptr<asio::steady_timer> grace;
  };
  std::list<Retired> retired_;
  asio::signal_set signals_;
  node::Log fallback_log_;  // to stderr, before the primary's log is open
};

}  // namespace topo::api
