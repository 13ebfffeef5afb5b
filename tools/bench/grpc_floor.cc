// grpc-floor: an empty gRPC server, the floor under every hotpath number in `make bench`.
//
// It serves AdminService/Ping the way hotpathd does (gRPC's callback API, insecure, one
// listening port) and nothing else: no interceptor, metrics, access control, engine or
// persistence. What `hotpath-bench --workload=ping` gets from it is what gRPC itself costs per
// call on this machine; hotpathd's numbers are measured against it.
//
//   grpc-floor [--address=127.0.0.1:0]   prints "listening HOST:PORT", serves until SIGTERM
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"

ABSL_FLAG(std::string, address, "127.0.0.1:0", "HOST:PORT to listen on (port 0: any free port)");

namespace {

class PingOnly final : public hotpath::admin::v1::AdminService::CallbackService {
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const hotpath::admin::v1::PingRequest* request,
                                 hotpath::admin::v1::PingResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
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

  const std::string address = absl::GetFlag(FLAGS_address);
  PingOnly service;
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
  return 0;
}
