// The fixture of the CLI integration tests: a fresh directory per test, helpers that run
// `topo` there and parse its JSON, checks for a clean refusal, and a snapshot of everything
// a database holds (to show that a failed command changed nothing).
#pragma once

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/run_topo.h"
#include "store/keystore.h"
#include "util/encoding.h"
#include "testing/temp_dir.h"

namespace topo::cli_test {

namespace fs = std::filesystem;
using nlohmann::json;
using Words = std::vector<std::string>;

inline const Words kTypes = {"counter", "register", "mvregister", "set", "map", "list", "doc"};

using ::topo::testing::TempDir;

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline mode_t FileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

inline bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The files in `dir`, less the daemon's own (DB.sock, DB.pid, DB.log: node/daemon.h), which
// every command may create by starting the daemon and which hold no data.
inline std::set<std::string> FilesIn(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (EndsWith(name, ".sock") || EndsWith(name, ".pid") || EndsWith(name, ".log")) continue;
    names.insert(name);
  }
  return names;
}

inline bool IsHexId(const json& j) {
  if (!j.is_string()) return false;
  const auto& s = j.get_ref<const std::string&>();
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

inline std::string Describe(const TopoResult& r) {
  return "\n  command: " + r.command + "\n  exit: " + std::to_string(r.exit_code) +
         "\n  stdout: " + r.out + "\n  stderr: " + r.err;
}

inline ::testing::AssertionResult Succeeded(const TopoResult& r) {
  if (r.exit_code != 0 || !r.err.empty())
    return ::testing::AssertionFailure() << "expected success" << Describe(r);
  return ::testing::AssertionSuccess();
}

// A refused command: the given exit status, nothing on stdout, and exactly one line on
// stderr, "topo: ..." naming the problem (containing `needle`), with no trace of a crash.
inline ::testing::AssertionResult FailedCleanly(const TopoResult& r, int exit_code,
                                                const std::string& needle) {
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure() << why << Describe(r);
  };
  if (r.exit_code != exit_code) return fail("wrong exit status");
  if (!r.out.empty()) return fail("printed to stdout");
  if (r.err.rfind("topo: ", 0) != 0) return fail("stderr does not start with \"topo: \"");
  if (r.err.back() != '\n' || std::count(r.err.begin(), r.err.end(), '\n') != 1)
    return fail("stderr is not exactly one line");
  if (r.err.size() > 400) return fail("error line is over 400 characters");
  for (const char* crash : {"internal error", "terminate", "what()", "Aborted", "Assertion"})
    if (r.err.find(crash) != std::string::npos) return fail("error looks like a crash");
  if (r.err.find(needle) == std::string::npos) return fail("stderr lacks \"" + needle + "\"");
  return ::testing::AssertionSuccess();
}

inline json ParseJson(const TopoResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) ADD_FAILURE() << "stdout is not JSON" << Describe(r);
  return j;
}

// Every row of every table, read straight from the SQLite file (read-only), as text; with
// `counts_only`, just the row count of each table.
inline std::string DumpTables(const std::string& db_path, bool counts_only = false) {
  if (!fs::exists(db_path)) return "no database\n";
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK) return "cannot open: " + std::string(sqlite3_errstr(rc)) + "\n";
  std::string out;
  for (const char* table : {"vertices", "heads", "rejected", "blocked", "blocked_deps", "state",
                            "object_values", "meta"}) {
    std::string sql = std::string(counts_only ? "SELECT count(*) FROM " : "SELECT * FROM ") +
                      table + (counts_only ? "" : " ORDER BY 1, 2");
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      out += std::string(table) + ": " + sqlite3_errmsg(db.get()) + "\n";
      continue;
    }
    out += std::string(table) + ":";
    while (sqlite3_step(st) == SQLITE_ROW) {
      if (counts_only) {
        out += " " + std::to_string(sqlite3_column_int64(st, 0));
        continue;
      }
      out += "\n ";
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* bytes = static_cast<const uint8_t*>(sqlite3_column_blob(st, c));
        out += " " + HexEncode(ByteView(bytes, static_cast<size_t>(sqlite3_column_bytes(st, c))));
      }
    }
    out += "\n";
    sqlite3_finalize(st);
  }
  return out;
}

inline int64_t VertexCount(const std::string& db_path) {
  std::string counts = DumpTables(db_path, /*counts_only=*/true);
  auto at = counts.find("vertices: ");
  if (at == std::string::npos) return -1;
  return std::stoll(counts.substr(at + 10));
}

// The text of a list (one element per character) as a string.
inline std::string ListText(const json& list) {
  std::string s;
  for (const auto& c : list) s += c.get<std::string>();
  return s;
}

// The log of an object is in linear order: genesis first, then (depth, id) strictly
// ascending, and every parent before its children.
inline void ExpectLinearOrder(const json& log) {
  ASSERT_TRUE(log.is_array());
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0]["depth"], 0);
  EXPECT_EQ(log[0]["op"]["op"], "create");
  EXPECT_EQ(log[0]["parents"], json::array());
  std::set<std::string> seen;  // short ids (16 hex), as the log names parents
  for (size_t i = 0; i < log.size(); ++i) {
    const json& v = log[i];
    EXPECT_TRUE(IsHexId(v["id"])) << v;
    EXPECT_TRUE(IsHexId(v["author"])) << v;
    if (i > 0) {
      const json& prev = log[i - 1];
      EXPECT_GE(v["depth"].get<uint64_t>(), prev["depth"].get<uint64_t>()) << "at " << i;
      if (v["depth"] == prev["depth"]) {
        EXPECT_LT(prev["id"].get<std::string>(), v["id"].get<std::string>()) << "at " << i;
      }
      EXPECT_FALSE(v["parents"].empty()) << "at " << i;
    }
    for (const auto& p : v["parents"]) EXPECT_TRUE(seen.count(p)) << "parent " << p << " late";
    seen.insert(v["id"].get<std::string>().substr(0, 16));
  }
}

inline std::vector<std::string> OpNames(const json& log) {
  std::vector<std::string> names;
  for (const auto& v : log) names.push_back(v["op"]["op"]);
  return names;
}

class CliTest : public ::testing::Test {
 protected:
  // Every command started its database's daemon: stop them all (each test's directory is
  // removed after it).
  void TearDown() override {
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      std::string name = e.path().filename().string();
      if (EndsWith(name, ".pid")) {
        TopoResult r = Topo({"--db", name.substr(0, name.size() - 4), "stop"});
        EXPECT_EQ(r.exit_code, 0) << r.command << ": " << r.err;
      }
    }
  }

  std::string Path(const std::string& name) const { return dir_.File(name); }
  // Polls `probe` until it returns true or `seconds` pass (daemons converge in the
  // background); the last probe's answer.
  template <typename F>
  bool Eventually(F probe, int seconds = 30, int every_ms = 100) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
    }
    return probe();
  }
  // Stops the daemon of `db`: it holds the identity it unlocked at start, so tests of what
  // happens when a daemon starts (a wrong passphrase, a lost key file) stop it first.
  void StopDaemon(const std::string& db) {
    TopoResult r = Topo({"--db", db, "stop"});
    EXPECT_EQ(r.exit_code, 0) << r.command << ": " << r.err;
  }

  TopoResult Topo(const Words& args, const Words& env = {}) {
    return RunTopo(args, dir_.path(), env);
  }
  // `topo --db DB ARGS...`; the global options come before the subcommand.
  TopoResult At(const std::string& db, const Words& args, const Words& env = {}) {
    Words all{"--db", db};
    all.insert(all.end(), args.begin(), args.end());
    return Topo(all, env);
  }
  TopoResult AtJson(const std::string& db, const Words& args, const Words& env = {}) {
    Words all{"--json"};
    all.insert(all.end(), args.begin(), args.end());
    return At(db, all, env);
  }
  // Runs with --json, expects success and returns the parsed output.
  json Json(const std::string& db, const Words& args, const Words& env = {}) {
    TopoResult r = AtJson(db, args, env);
    EXPECT_TRUE(Succeeded(r));
    return ParseJson(r);
  }

  json Init(const std::string& db, const std::string& device_name) {
    return Json(db, {"init", "--device-name", device_name});
  }
  std::string Create(const std::string& db, const std::string& type, const Words& env = {}) {
    json j = Json(db, {"object", "create", "--type", type}, env);
    EXPECT_TRUE(IsHexId(j["object"])) << j;
    EXPECT_EQ(j["type"], type);
    return j.value("object", "");
  }
  // `object update ID [--field FIELD] WORDS...`; returns the --json answer.
  json Update(const std::string& db, const std::string& id, const std::string& field,
              const Words& words, const Words& env = {}) {
    Words args{"object", "update", id};
    if (!field.empty()) args.insert(args.end(), {"--field", field});
    args.insert(args.end(), words.begin(), words.end());
    json j = Json(db, args, env);
    EXPECT_TRUE(IsHexId(j["vertex"])) << j;
    return j;
  }
  json State(const std::string& db, const std::string& id, const Words& env = {}) {
    json j = Json(db, {"object", "show", id}, env);
    EXPECT_EQ(j["object"], id);
    return j["state"];
  }
  json Log(const std::string& db, const std::string& id) { return Json(db, {"object", "log", id}); }
  json Report(const std::string& db, const std::string& bundle) {
    return Json(db, {"bundle", "import", bundle});
  }
  void Export(const std::string& db, const std::string& bundle) {
    EXPECT_TRUE(Succeeded(At(db, {"bundle", "export", bundle})));
  }

  // Everything a user can read from the database (object list, and each object's show and
  // log), every row of its tables, and the key file: a failed command must leave all of it
  // as it was. With many objects only the first kSnapshotObjects are read through the CLI
  // (the rows cover the rest).
  static constexpr size_t kSnapshotObjects = 16;
  std::string Snapshot(const std::string& db, const Words& env = {}) {
    TopoResult list = AtJson(db, {"object", "list"}, env);
    std::string s = "list: " + list.out + list.err + "\n";
    json objects = json::parse(list.out, nullptr, false);
    if (objects.is_array()) {
      for (size_t i = 0; i < objects.size() && i < kSnapshotObjects; ++i) {
        std::string id = objects[i]["object"];
        TopoResult show = AtJson(db, {"object", "show", id}, env);
        TopoResult log = AtJson(db, {"object", "log", id}, env);
        s += "show: " + show.out + show.err + "log: " + log.out + log.err;
      }
    }
    s += DumpTables(Path(db));
    s += "keys: " + HexEncode(AsBytes(ReadFile(store::KeyFilePath(Path(db))))) + "\n";
    return s;
  }

  TempDir dir_;
};

}  // namespace topo::cli_test
