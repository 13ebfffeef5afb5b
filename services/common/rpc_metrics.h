// Per-RPC Prometheus metrics for every service.
//
//   hotpath_grpc_server_started_total{grpc_service, grpc_method, grpc_type}
//   hotpath_grpc_server_handled_total{grpc_service, grpc_method, grpc_type, grpc_code}
//   hotpath_grpc_server_handling_seconds{grpc_service, grpc_method, grpc_type}  (histogram)
//
// Names and labels follow the gRPC ecosystem's Prometheus conventions, so existing dashboards
// work with the `hotpath_` prefix. Label values are bounded by configuration, never by traffic:
// only the methods named at construction get their own series; any other method is recorded as
// grpc_service="unknown", grpc_method="unknown", grpc_type="unknown".
//
// Unary calls are metered by their handlers (services/common/unary_call.h), from the start of
// the handler until it hands gRPC the status: a gRPC interceptor costs gRPC 1.51 an extra
// batch through the completion queue for each intercepted step, about 1 us of CPU per call,
// and durable writes ran 4% faster at 256 in flight without it. A unary call whose request
// gRPC cannot parse never reaches a handler and is not counted. Streaming calls and methods
// hotpath does not serve (reflection, unknown names) are metered by the interceptor of
// InterceptorFactory, which lets unary calls of known methods pass unintercepted; a stream
// torn down without sending a status (its client went away) is counted with
// grpc_code="Canceled".
//
// Thread safety: every method may be called from any thread. The recording path takes no lock
// once a (method, code) series exists.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/common/in_flight_calls.h"
#include "services/common/slow_log.h"

namespace hotpath {

class RpcMetrics;

// One unary call being metered: counted as started and in flight when RpcMetrics::StartUnary
// makes it, as handled (code and duration, and in the slow log if it took long) at End. A
// plain value, so that a call finished on another thread can carry it there. End must be
// called exactly once; a default-made meter records nothing.
class CallMeter {
 public:
  CallMeter() = default;
  void End(grpc::StatusCode code) const;

 private:
  friend class RpcMetrics;
  RpcMetrics* metrics_ = nullptr;
  size_t method_ = 0;
  std::chrono::steady_clock::time_point start_;
};

class RpcMetrics {
 public:
  // `full_methods` are "/package.Service/Method" names. The registry must outlive this object;
  // so must `in_flight` and `slow_log`, which may be null (not kept).
  RpcMetrics(prometheus::Registry& registry, const std::vector<std::string>& full_methods,
             InFlightCalls* in_flight = nullptr, SlowLog* slow_log = nullptr);

  // Starts metering a unary call of `method` of `service` ("hotpath.admin.v1.AdminService",
  // "Ping"); one not named at construction is metered as unknown.
  CallMeter StartUnary(absl::string_view service, absl::string_view method);

  // A factory to pass to ServerBuilder::experimental().SetInterceptorCreators: it meters the
  // calls StartUnary does not (see above), keeping the in-flight count too.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

  // The steps of a call, for the interceptor: index of a known "/package.Service/Method" (or
  // of the unknown series); `type` is the grpc_type label ("unary", "client_stream",
  // "server_stream", "bidi_stream"); `unary` calls go to the slow log.
  size_t MethodIndex(const char* full_method) const;
  void RecordStart(size_t method, const char* type);
  void RecordEnd(size_t method, grpc::StatusCode code, std::chrono::steady_clock::time_point start,
                 bool unary);
  // Whether a method index is one of the methods named at construction.
  bool Known(size_t method) const { return method + 1 < methods_.size(); }

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
  // "/package.Service/Method" of a method index ("/unknown/unknown" for the unknown series).
  std::string FullName(size_t method) const;

  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  InFlightCalls* const in_flight_;
  SlowLog* const slow_log_;
  std::vector<std::unique_ptr<Method>> methods_;    // the last one is "unknown"
  absl::flat_hash_map<std::string, size_t> index_;  // by "/package.Service/Method"
  // By (service, method), pointing into methods_' strings.
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, size_t> by_parts_;
  absl::Mutex add_mu_;  // serialises creating a (method, code) series
};

}  // namespace hotpath
