// Graceful stop of a gRPC server and of the metrics endpoint.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "prometheus/exposer.h"
#include "services/common/in_flight_calls.h"

namespace hotpath {

// Stops `server`: it accepts no new calls, calls in flight run until `deadline` and are then
// cancelled. Returns once the server has stopped (Wait() has returned). `in_flight` must count
// the server's calls (see services/common/rpc_metrics.h): an idle server stops within about
// 40 ms rather than at the deadline.
void DrainGrpc(grpc::Server& server, const InFlightCalls& in_flight, absl::Time deadline);

// Destroys the exposer listening on `address` (host:port), in milliseconds rather than the up
// to 2 s civetweb's listener would otherwise take.
void StopExposer(std::unique_ptr<prometheus::Exposer> exposer, const std::string& address);

}  // namespace hotpath
