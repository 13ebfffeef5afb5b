#include "tools/bench/redis_driver.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <limits>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tools/bench/measure_window.h"

namespace hotpath {
namespace {

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using RedisContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

absl::StatusOr<RedisContextPtr> Connect(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("redis address must be host:port: ", address));
  }
  RedisContextPtr context(redisConnect(address.substr(0, colon).c_str(), port));
  if (context == nullptr || context->err != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to redis at ", address, ": ",
                                               context ? context->errstr : "out of memory"));
  }
  return context;
}

// One closed loop on one connection.
struct Connection {
  Connection(RedisContextPtr context, WorkerContext worker)
      : context(std::move(context)), worker(std::move(worker)) {}

  RedisContextPtr context;
  WorkerContext worker;
  std::vector<RedisCommand> commands;
  size_t pending = 0;
  int64_t started = 0;
  bool error_reply = false;  // this operation got an error reply; the connection carries on
  bool finished = false;
  bool want_write = false;
};

class Loop {
 public:
  Loop(Workload& workload, const RunOptions& run, const WorkloadOptions& options)
      : workload_(workload), run_(run), options_(options) {}

  absl::Status Add(RedisContextPtr context, WorkerContext worker) {
    const int fd = context->fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    context->flags &= ~REDIS_BLOCK;
    auto connection = std::make_unique<Connection>(std::move(context), std::move(worker));
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<uint32_t>(connections_.size());
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) return absl::InternalError("epoll_ctl");
    connections_.push_back(std::move(connection));
    ++active_;
    return absl::OkStatus();
  }

  absl::StatusOr<RunResult> Run() {
    for (uint32_t i = 0; i < connections_.size(); ++i) Issue(i);
    const int64_t start = MeasureWindow::Now();
    const int64_t open_at = start + absl::ToInt64Nanoseconds(run_.warmup);
    int64_t close_at = std::numeric_limits<int64_t>::max();
    int64_t give_up = std::numeric_limits<int64_t>::max();
    epoll_event events[256];
    while (active_ > 0) {
      const int64_t now = MeasureWindow::Now();
      if (!window_open_ && now >= open_at) {
        window_.Open();
        window_open_ = true;
        close_at = now + absl::ToInt64Nanoseconds(run_.duration);
      }
      if (!stop_ && (now >= close_at || limit_reached_)) {
        window_.Close();
        stop_ = true;
        give_up = now + absl::ToInt64Nanoseconds(absl::Seconds(10));
      }
      if (now >= give_up)
        return absl::DeadlineExceededError("redis did not answer in-flight calls");
      const int n = epoll_wait(epoll_, events, 256, 5);
      for (int i = 0; i < n; ++i) {
        const uint32_t index = events[i].data.u32;
        if (events[i].events & EPOLLOUT) Flush(index);
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) Read(index);
      }
    }
    if (!window_open_) window_.Open();  // every connection failed before the window opened
    if (!stop_) window_.Close();        // ... or while it was open
    RunResult result;
    result.target = "redis";
    result.connections = static_cast<int>(connections_.size());
    result.concurrency = run_.concurrency;
    result.seconds = window_.seconds();
    result.operations = operations_;
    result.errors = errors_;
    result.latency = latency_;
    return result;
  }

  ~Loop() { close(epoll_); }

 private:
  void Issue(uint32_t index) {
    Connection& c = *connections_[index];
    if (stop_) {
      Retire(index);
      return;
    }
    c.error_reply = false;
    c.commands.clear();
    workload_.NextRedisCommands(&c.worker, options_, &c.commands);
    for (const RedisCommand& command : c.commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      for (const std::string& arg : command) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      redisAppendCommandArgv(c.context.get(), static_cast<int>(argv.size()), argv.data(),
                             lengths.data());
    }
    c.pending = c.commands.size();
    c.started = MeasureWindow::Now();
    Flush(index);
  }

  void Flush(uint32_t index) {
    Connection& c = *connections_[index];
    int done = 0;
    if (redisBufferWrite(c.context.get(), &done) == REDIS_ERR) {
      Fail(index);
      return;
    }
    // Ask for EPOLLOUT only while part of the request is still unsent.
    const bool want_write = done == 0;
    if (want_write != c.want_write) {
      c.want_write = want_write;
      epoll_event event{};
      event.events = c.want_write ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      event.data.u32 = index;
      epoll_ctl(epoll_, EPOLL_CTL_MOD, c.context->fd, &event);
    }
  }

  void Read(uint32_t index) {
    Connection& c = *connections_[index];
    if (c.finished) return;
    if (redisBufferRead(c.context.get()) == REDIS_ERR) {
      Fail(index);
      return;
    }
    void* reply = nullptr;
    while (c.pending > 0) {
      if (redisGetReplyFromReader(c.context.get(), &reply) == REDIS_ERR) {
        Fail(index);
        return;
      }
      if (reply == nullptr) return;  // the rest has not arrived yet
      if (static_cast<redisReply*>(reply)->type == REDIS_REPLY_ERROR) c.error_reply = true;
      freeReplyObject(reply);
      --c.pending;
    }
    Completed(index);
  }

  void Completed(uint32_t index) {
    Connection& c = *connections_[index];
    const int64_t now = MeasureWindow::Now();
    if (window_.Counts(c.started, now)) {
      if (c.error_reply) {
        ++errors_;
      } else if (run_.requests == 0 || operations_ < run_.requests) {
        latency_.Record(now - c.started);
        ++operations_;
        if (operations_ == run_.requests) limit_reached_ = true;
      }
    }
    Issue(index);
  }

  // The connection broke: its operation counts as an error if it fell in the window.
  void Fail(uint32_t index) {
    Connection& c = *connections_[index];
    if (c.finished) return;
    if (window_.Counts(c.started, MeasureWindow::Now())) ++errors_;
    Retire(index);
  }

  void Retire(uint32_t index) {
    Connection& c = *connections_[index];
    c.finished = true;
    --active_;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.context->fd, nullptr);
  }

  Workload& workload_;
  const RunOptions run_;
  const WorkloadOptions options_;
  const int epoll_ = epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<Connection>> connections_;
  int active_ = 0;
  MeasureWindow window_;
  bool window_open_ = false;
  bool stop_ = false;
  bool limit_reached_ = false;
  LatencyHistogram latency_;
  uint64_t operations_ = 0;
  uint64_t errors_ = 0;
};

// The fields of INFO `section` ("memory", "persistence"), by name; empty if the call fails.
std::map<std::string, std::string, std::less<>> Info(redisContext* redis, const char* section) {
  std::map<std::string, std::string, std::less<>> fields;
  auto* reply = static_cast<redisReply*>(redisCommand(redis, "INFO %s", section));
  if (reply == nullptr) return fields;
  if (reply->type == REDIS_REPLY_STRING) {
    for (absl::string_view line :
         absl::StrSplit(absl::string_view(reply->str, reply->len), "\r\n")) {
      const size_t colon = line.find(':');
      if (colon != absl::string_view::npos && !absl::StartsWith(line, "#")) {
        fields.emplace(line.substr(0, colon), line.substr(colon + 1));
      }
    }
  }
  freeReplyObject(reply);
  return fields;
}

// With an append-only file, rewrites it (BGREWRITEAOF) and waits, at most a minute, for the
// rewrite to end: the counterpart of CompactHotpathLog in the gRPC driver.
absl::Status CompactRedisLog(redisContext* redis) {
  if (Info(redis, "persistence")["aof_enabled"] != "1") return absl::OkStatus();
  // Refused only while a rewrite runs already, which the wait below covers as well.
  if (auto* reply = static_cast<redisReply*>(redisCommand(redis, "BGREWRITEAOF"))) {
    freeReplyObject(reply);
  }
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (true) {
    auto persistence = Info(redis, "persistence");
    if (persistence["aof_rewrite_in_progress"] == "0" &&
        persistence["aof_rewrite_scheduled"] == "0") {
      return absl::OkStatus();
    }
    if (absl::Now() > deadline) return absl::DeadlineExceededError("Redis's AOF rewrite ran 1 min");
    absl::SleepFor(absl::Milliseconds(10));  // polling a server's state, not synchronising
  }
}

}  // namespace

absl::StatusOr<RunResult> RunRedis(Workload& workload, const std::string& address,
                                   const RunOptions& run, const WorkloadOptions& options) {
  Loop loop(workload, run, options);
  const KeyChooser keys(options.keys, options.distribution, options.zipf_theta, run.seed);
  for (int i = 0; i < run.concurrency; ++i) {
    absl::StatusOr<RedisContextPtr> context = Connect(address);
    if (!context.ok()) return context.status();
    if (i == 0) {
      absl::Status prepared = workload.PrepareRedis(context->get(), options);
      if (prepared.ok() && workload.items(options) > 0) prepared = CompactRedisLog(context->get());
      if (!prepared.ok()) return prepared;
    }
    absl::Status added = loop.Add(*std::move(context), WorkerContext{i, keys.ForWorker(i)});
    if (!added.ok()) return added;
  }
  return loop.Run();
}

absl::StatusOr<double> RedisUsedMemory(const std::string& address) {
  absl::StatusOr<RedisContextPtr> context = Connect(address);
  if (!context.ok()) return context.status();
  const auto memory = Info(context->get(), "memory");
  const auto used = memory.find("used_memory");
  double bytes = 0;
  if (used == memory.end() || !absl::SimpleAtod(used->second, &bytes)) {
    return absl::UnavailableError("INFO memory has no used_memory");
  }
  return bytes;
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(const std::string& binary) {
  // Ask the kernel for a free port, then hand it to redis (its --port 0 means "no TCP").
  const int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (probe < 0 || bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    if (probe >= 0) close(probe);
    return absl::InternalError("cannot find a free loopback port");
  }
  const int port = ntohs(addr.sin_port);
  close(probe);

  auto server = std::unique_ptr<RedisServer>(new RedisServer());
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Spawn({binary, "--port", absl::StrCat(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"});
  if (!process.ok()) return process.status();
  server->process_ = *std::move(process);
  if (!server->process_->WaitForOutput("Ready to accept connections", absl::Seconds(20))) {
    return absl::UnavailableError(
        absl::StrCat("redis-server did not start: ", server->process_->stdout_text(),
                     server->process_->stderr_text()));
  }
  server->address_ = absl::StrCat("127.0.0.1:", port);
  return server;
}

RedisServer::~RedisServer() {
  if (process_ == nullptr) return;
  process_->Signal(SIGTERM);
  process_->Wait(absl::Seconds(10));
}

}  // namespace hotpath
