// `topo sub`: streams the chat's events (apps/chat/events.h) as JSON lines, for bots and
// UIs. It long-polls chat.events (wait_ms = kWaitMs): the daemon holds each call until an event
// is applied or the wait ends, so an event is printed as soon as it is applied; each call
// resumes after the last seq it was given. Between calls it checks whether it was asked to
// stop, or its reader went away; a stop arriving during a call ends the stream when that
// call returns (within kWaitMs).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "api/rpc_client.h"
#include "cli/support.h"
#include "node/daemon.h"

namespace topo::cli {
namespace {

using nlohmann::json;

constexpr uint64_t kWaitMs = 1000;
constexpr uint64_t kPage = 500;

struct SubArgs {
  std::string channel;
  uint64_t after = 0;
  uint64_t count = 0;
  bool until_idle = false;
};
SubArgs sargs;

volatile std::sig_atomic_t stop_requested = 0;
void OnStopSignal(int) { stop_requested = 1; }

// SIGINT and SIGTERM end the stream after the line being written; a reader that went away
// (`topo sub | head -3`) ends it too, with status 0, instead of killing it with SIGPIPE.
void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a call to the daemon in flight completes
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// True once nobody reads stdout any more (the pipe's reader exited, the terminal hung up):
// noticed while idle too, not only at the next event's write.
bool ReaderGone() {
  pollfd p{STDOUT_FILENO, 0, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP)) != 0;
}


}  // namespace

void RegisterSub(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand(
      "sub", "Stream new messages, edits, reactions, joins and channel changes as JSON lines");
  sub->add_option("--channel,-c", sargs.channel, "Only this channel: #name, name or id");
  auto* after = sub->add_option(
      "--after", sargs.after,
      "Start after this seq (0: everything this device holds; default: only new events)");
  sub->add_option("--count,-n", sargs.count, "Exit after printing this many events");
  sub->add_flag("--until-idle", sargs.until_idle,
                "Exit once every event there is now has been printed");
  sub->footer(
      "Each line is one JSON object (--json is implied): seq, kind (message, edit, delete,\n"
      "reaction, member, channel), at, channel and channel_name, author and author_name; a\n"
      "message's number, id and text as shown now (\"\" once deleted); a reaction's emoji;\n"
      "the member who joined or left; what changed on a channel (docs/RPC.md, chat.events).\n"
      "seq grows with every event this device applies: resume with --after SEQ. Each call\n"
      "to the daemon waits there until an event is applied (a long poll: chat.events with\n"
      "wait_ms), so events are printed as they arrive. Runs until interrupted (SIGINT or\n"
      "SIGTERM end it with status 0, within a second), or --count / --until-idle.\n"
      "Example: topo sub -c general --after 120");
  sub->callback(Run(g, [&g, after] {
    InstallStopHandlers();
    json params = json::object();
    if (!sargs.channel.empty()) params["channel"] = sargs.channel;
    // This starts the daemon when none runs. Without --after, the stream starts at the
    // journal's end: only what comes next.
    uint64_t end = Call(g, "chat.events", params)["last"].get<uint64_t>();
    uint64_t next = after->count() > 0 ? sargs.after : end;
    // One connection for the whole stream: when the daemon stops, the stream ends (it does
    // not start another daemon, as a new Call would).
    if (!g.workspace.empty()) params["workspace"] = g.workspace;
    api::RpcClient client = Check(api::RpcClient::Connect(node::SocketPath(AbsoluteDb(g))));
    uint64_t printed = 0;
    while (!stop_requested) {
      if (ReaderGone()) return;
      params["after"] = next;
      params["limit"] = sargs.count > 0 ? std::min(kPage, sargs.count - printed) : kPage;
      // --until-idle wants what is there now: no wait.
      if (sargs.until_idle)
        params.erase("wait_ms");
      else
        params["wait_ms"] = kWaitMs;
      auto answer = client.Call("chat.events", params);
      if (!answer.ok() && answer.status().code() == Code::kIOError)
        throw Failure{Status::IOError("the daemon stopped; the stream ends here (resume with "
                                      "--after " + std::to_string(next) + ")")};
      json page = Check(std::move(answer));
      for (const auto& e : page["events"]) {
        std::cout << e.dump() << "\n" << std::flush;
        if (!std::cout) return;  // the reader is gone
        if (sargs.count > 0 && ++printed >= sargs.count) return;
      }
      next = page["last"].get<uint64_t>();
      if (page.value("more", false)) continue;
      if (sargs.until_idle) return;
    }
  }));
}

}  // namespace topo::cli
