// grpc-floor: an empty gRPC server, the floor under every hotpath number in `make bench`.
//
// It serves AdminService/Ping the way hotpathd does (gRPC's callback API, insecure, one
// listening port) and nothing else: no interceptor, metrics, access control, engine or
// persistence. What `hotpath-bench --workload=ping` gets from it is what gRPC itself costs per
// call on this machine; hotpathd's numbers are measured against it.
//
// With --log it is the durable floor: each Ping appends one small record to that file through
// the project's log writer (persistence/aof_writer.h) and is answered once the record is
// durable under --fsync, so it costs what gRPC plus group commit cost, and nothing of hotpath's
// services or engine. Its threads run under hotpathd's default scheduling policy (batch;
// services/server/scheduling.h) unless --scheduling says otherwise.
//
//   grpc-floor [--address=127.0.0.1:0] [--log=FILE [--fsync=always]] [--scheduling=batch]
//   prints "listening HOST:PORT", serves until SIGTERM
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/mutation.h"
#include "engine/value.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "persistence/aof_writer.h"
#include "services/server/scheduling.h"

ABSL_FLAG(std::string, address, "127.0.0.1:0", "HOST:PORT to listen on (port 0: any free port)");
ABSL_FLAG(std::string, log, "", "append a record per Ping to this file, answering once durable");
ABSL_FLAG(std::string, fsync, "always", "with --log: always, everysec or no");
ABSL_FLAG(std::string, scheduling, "batch", "the threads' scheduling policy: batch or normal");

namespace {

class PingOnly final : public hotpath::admin::v1::AdminService::CallbackService {
 public:
  // `log` (may be null: answer at once) outlives the service.
  explicit PingOnly(hotpath::AofWriter* log) : log_(log) {}

 private:
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const hotpath::admin::v1::PingRequest* request,
                                 hotpath::admin::v1::PingResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (log_ == nullptr) {
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    // One upsert record of the payload, as small as a hotpath write gets.
    const hotpath::Value value = hotpath::Value::String(request->payload());
    hotpath::Mutation mutation;
    mutation.key = hotpath::KeyRef{"", "ping"};
    mutation.value = &value;
    {
      absl::MutexLock lock(&mu_);  // sequence numbers reach the log in order, as a shard's do
      mutation.sequence = ++sequence_;
      log_->Apply(mutation);
    }
    log_->WhenDurable([reactor](absl::Status durable) {
      reactor->Finish(durable.ok() ? grpc::Status::OK
                                   : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                  std::string(durable.message())));
    });
    return reactor;
  }

  hotpath::AofWriter* const log_;
  absl::Mutex mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

int main(int argc, char** argv) {
  // As hotpathd does (services/server/main.cc): gRPC's locks are abseil Mutexes, which
  // Debian's abseil would otherwise check for lock-order cycles on every acquisition.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before gRPC starts threads, so they inherit it

  absl::StatusOr<hotpath::SchedulingPolicy> policy =
      hotpath::ParseSchedulingPolicy(absl::GetFlag(FLAGS_scheduling));
  absl::Status applied = policy.ok() ? hotpath::ApplySchedulingPolicy(*policy) : policy.status();
  if (!applied.ok()) {
    std::fprintf(stderr, "grpc-floor: --scheduling: %s\n", std::string(applied.message()).c_str());
    return 2;
  }
  const std::string address = absl::GetFlag(FLAGS_address);
  std::unique_ptr<hotpath::AofWriter> log;
  if (const std::string path = absl::GetFlag(FLAGS_log); !path.empty()) {
    absl::StatusOr<hotpath::FsyncPolicy> fsync =
        hotpath::ParseFsyncPolicy(absl::GetFlag(FLAGS_fsync));
    absl::StatusOr<std::unique_ptr<hotpath::WritableFile>> file =
        fsync.ok() ? hotpath::PosixFileSystem()->OpenForAppend(path)
                   : absl::StatusOr<std::unique_ptr<hotpath::WritableFile>>(fsync.status());
    if (!file.ok()) {
      std::fprintf(stderr, "grpc-floor: %s\n", std::string(file.status().message()).c_str());
      return 2;
    }
    log = std::make_unique<hotpath::AofWriter>(*std::move(file),
                                               hotpath::AofWriterOptions{.fsync = *fsync});
  }
  PingOnly service(log.get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "grpc-floor: cannot listen on %s\n", address.c_str());
    return 1;
  }
  const std::string host = address.substr(0, address.rfind(':'));
  std::printf("listening %s\n", absl::StrCat(host, ":", port).c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&stop, &received);
  server->Shutdown();
  if (log != nullptr && !log->Close().ok()) return 1;
  return 0;
}
