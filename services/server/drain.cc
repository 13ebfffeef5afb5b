#include "services/server/drain.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "grpc/grpc.h"

namespace hotpath {

// gRPC 1.51's Shutdown also waits (up to the deadline) for idle client connections to close.
// Whenever no call is in flight, cancelling "all calls" cancels nothing but closes those
// connections, so an idle server stops at once instead of after the whole drain timeout. It is
// repeated because connections may still arrive until the shutdown thread has begun.
void DrainGrpc(grpc::Server& server, const InFlightCalls& in_flight, absl::Time deadline) {
  absl::Notification done;
  std::thread shutdown([&] {
    server.Shutdown(absl::ToChronoTime(deadline));
    done.Notify();
  });
  // The first check comes 20 ms after Shutdown began; the count must read zero twice in a row,
  // 20 ms apart, so a call just being set up is not taken for an idle connection.
  int idle_checks = 0;
  while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    idle_checks = in_flight.count() == 0 ? idle_checks + 1 : 0;
    if (idle_checks >= 2) grpc_server_cancel_all_calls(server.c_server());
  }
  shutdown.join();
  server.Wait();
}

// civetweb's listener checks its stop flag only between polls of up to 2 s; a connection to the
// listener ends the poll, so while the exposer is being destroyed on another thread we knock
// until it is gone. (Only IPv4 literal addresses are knocked; others take the slow path.)
void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, const std::string& address) {
  if (exposer == nullptr) return;
  absl::Notification stopped;
  std::thread stopper([&] {
    exposer.reset();
    stopped.Notify();
  });
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  const bool ipv4 = inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) == 1;
  while (ipv4 && !stopped.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    close(fd);
  }
  stopper.join();
}

}  // namespace hotpath
