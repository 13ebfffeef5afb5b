// crash_writer: a process for kill -9 tests of the persistence stack (tests/crash_test.cc). It opens a data
// directory through the real Store (POSIX files, real fsync), then writes from four threads,
// each its own keys "c<cycle>-t<thread>-<n>" = "<n>", and prints "t<thread> <n>" once that
// write is durable under the fsync policy; a fifth thread requests rewrites back to back, so
// kills also land in the middle of rewrites. It runs until it is killed.
//
//   crash_writer DATA_DIR POLICY CYCLE
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "engine/keyspace.h"
#include "persistence/file_system.h"
#include "persistence/store.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR POLICY CYCLE\n");
    return 2;
  }
  const std::string cycle = argv[3];
  auto policy = hotpath::ParseFsyncPolicy(argv[2]);
  if (!policy.ok()) return 2;
  auto store = hotpath::Store::Open(hotpath::PosixFileSystem(),
                                    {.dir = argv[1], .shards = 4, .writer = {.fsync = *policy}});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  auto keyspace =
      hotpath::Keyspace::Create({.shards = 4}, hotpath::SystemClock::Get(), store->get()).value();
  if (!(*store)->Recover(keyspace.get()).ok()) return 1;
  std::printf("ready\n");
  std::fflush(stdout);

  absl::Mutex out;  // one line at a time on stdout
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0;; ++n) {
        const std::string key = absl::StrCat("c", cycle, "-t", t, "-", n);
        if (!keyspace->Set({.key = key}, absl::StrCat(n)).ok()) return;
        absl::Notification durable;
        bool ok = false;
        (*store)->WhenDurable([&](absl::Status status) {
          ok = status.ok();
          durable.Notify();
        });
        durable.WaitForNotification();
        if (!ok) continue;
        absl::MutexLock lock(&out);
        std::printf("t%d %d\n", t, n);
        std::fflush(stdout);
      }
    });
  }
  threads.emplace_back([&] {
    while (true) {
      absl::Notification done;
      (*store)->RequestRewrite([&](absl::Status) { done.Notify(); });
      done.WaitForNotification();
    }
  });
  for (std::thread& thread : threads) thread.join();
  return 0;
}
