// Per-RPC Prometheus metrics for every service, recorded by a gRPC server interceptor.
//
//   hotpath_grpc_server_started_total{grpc_service, grpc_method, grpc_type}
//   hotpath_grpc_server_handled_total{grpc_service, grpc_method, grpc_type, grpc_code}
//   hotpath_grpc_server_handling_seconds{grpc_service, grpc_method, grpc_type}  (histogram)
//
// Names and labels follow the gRPC ecosystem's Prometheus conventions, so existing dashboards
// work with the `hotpath_` prefix. Label values are bounded by configuration, never by traffic:
// only the methods named at construction get their own series; any other method is recorded as
// grpc_service="unknown", grpc_method="unknown", grpc_type="unknown". A call that ends without
// sending a status (its client went away) is counted with grpc_code="Canceled".
//
// Thread safety: the interceptor factory and the metrics are safe to use from every gRPC thread.
// The recording path takes no lock once a (method, code) series exists.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/common/in_flight_calls.h"
#include "services/common/slow_log.h"

namespace hotpath {

class RpcMetrics {
 public:
  // `full_methods` are "/package.Service/Method" names. The registry must outlive this object.
  RpcMetrics(prometheus::Registry& registry, const std::vector<std::string>& full_methods);

  // Index of a known method, or the index of the "unknown" series.
  size_t MethodIndex(const char* full_method) const;
  // `type` is the grpc_type label: "unary", "client_stream", "server_stream", "bidi_stream".
  void RecordStart(size_t method, const char* type);
  void RecordEnd(size_t method, grpc::StatusCode code, double seconds);

  // "/package.Service/Method" of a method index ("/unknown/unknown" for the unknown series).
  std::string FullName(size_t method) const;

  // A factory to pass to ServerBuilder::experimental().SetInterceptorCreators. Its interceptors
  // also keep `in_flight` up to date and enter slow unary calls in `slow_log` (each, if not
  // null, must outlive the server).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory(
      InFlightCalls* in_flight, SlowLog* slow_log = nullptr);

 private:
  static constexpr size_t kCodes = 17;
  // A method's series are created by its first call, which also fixes its grpc_type label
  // (a method's streaming kind never changes).
  struct Method {
    std::string service;
    std::string method;
    std::atomic<bool> ready{false};  // type, started and handling are set
    std::string type;
    prometheus::Counter* started = nullptr;
    prometheus::Histogram* handling = nullptr;
    std::array<std::atomic<prometheus::Counter*>, kCodes> handled{};
  };

  prometheus::Counter* HandledCounter(Method& method, grpc::StatusCode code);

  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  std::vector<std::unique_ptr<Method>> methods_;  // the last one is "unknown"
  absl::flat_hash_map<std::string, size_t> index_;
  absl::Mutex add_mu_;  // serialises creating a (method, code) series
};

}  // namespace hotpath
