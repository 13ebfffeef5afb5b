#include "services/common/rpc_metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/grpc_status.h"

namespace hotpath {
namespace {

// Buckets from 50us to 10s: hotpath calls are sub-millisecond when healthy.
const prometheus::Histogram::BucketBoundaries& HandlingBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
  return *buckets;
}

const char* TypeName(grpc::experimental::ServerRpcInfo::Type type) {
  using Type = grpc::experimental::ServerRpcInfo::Type;
  switch (type) {
    case Type::UNARY:
      return "unary";
    case Type::CLIENT_STREAMING:
      return "client_stream";
    case Type::SERVER_STREAMING:
      return "server_stream";
    case Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// One per metered call (see InterceptorFactory). The call ends when its status is sent; a
// call torn down without sending one (the client went away) is counted as CANCELLED when the
// interceptor is destroyed.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(RpcMetrics* metrics, size_t method,
                     grpc::experimental::ServerRpcInfo::Type type)
      : metrics_(metrics),
        method_(method),
        unary_(type == grpc::experimental::ServerRpcInfo::Type::UNARY),
        start_(std::chrono::steady_clock::now()) {
    metrics_->RecordStart(method_, metrics_->Known(method_) ? TypeName(type) : "unknown");
  }

  ~MetricsInterceptor() override { End(grpc::StatusCode::CANCELLED); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      End(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void End(grpc::StatusCode code) {
    if (ended_) return;
    ended_ = true;
    metrics_->RecordEnd(method_, code, start_, unary_);
  }

  RpcMetrics* const metrics_;
  const size_t method_;
  const bool unary_;
  const std::chrono::steady_clock::time_point start_;
  bool ended_ = false;  // gRPC runs one call's interception steps one at a time
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(RpcMetrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const size_t method = metrics_->MethodIndex(info->method());
    // Unary calls of the services' own methods are metered by their handlers; no interceptor
    // means gRPC runs none of its interception steps for them.
    if (info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY && metrics_->Known(method)) {
      return nullptr;
    }
    return new MetricsInterceptor(metrics_, method, info->type());
  }

 private:
  RpcMetrics* const metrics_;
};

}  // namespace

void CallMeter::End(grpc::StatusCode code) const {
  if (metrics_ != nullptr) metrics_->RecordEnd(method_, code, start_, /*unary=*/true);
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry, const std::vector<std::string>& full_methods,
                       InFlightCalls* in_flight, SlowLog* slow_log)
    : started_(prometheus::BuildCounter()
                   .Name("hotpath_grpc_server_started_total")
                   .Help("RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("hotpath_grpc_server_handled_total")
                   .Help("RPCs completed on the server, by gRPC status code.")
                   .Register(registry)),
      handling_(prometheus::BuildHistogram()
                    .Name("hotpath_grpc_server_handling_seconds")
                    .Help("Time from the start of an RPC until its status is handed to gRPC.")
                    .Register(registry)),
      in_flight_(in_flight),
      slow_log_(slow_log) {
  std::vector<std::string> names = full_methods;
  names.push_back("/unknown/unknown");
  for (const std::string& full : names) {
    // "/pkg.Service/Method" -> ("pkg.Service", "Method")
    std::vector<std::string> parts = absl::StrSplit(absl::string_view(full).substr(1), '/');
    auto method = std::make_unique<Method>();
    method->service = parts.size() == 2 ? parts[0] : "unknown";
    method->method = parts.size() == 2 ? parts[1] : "unknown";
    index_.emplace(full, methods_.size());
    by_parts_.emplace(
        std::make_pair(absl::string_view(method->service), absl::string_view(method->method)),
        methods_.size());
    methods_.push_back(std::move(method));
  }
}

CallMeter RpcMetrics::StartUnary(absl::string_view service, absl::string_view method) {
  CallMeter meter;
  meter.metrics_ = this;
  auto it = by_parts_.find(std::make_pair(service, method));
  meter.method_ = it != by_parts_.end() && Known(it->second) ? it->second : methods_.size() - 1;
  meter.start_ = std::chrono::steady_clock::now();
  RecordStart(meter.method_, Known(meter.method_) ? "unary" : "unknown");
  return meter;
}

size_t RpcMetrics::MethodIndex(const char* full_method) const {
  if (full_method != nullptr) {
    auto it = index_.find(absl::string_view(full_method));
    if (it != index_.end()) return it->second;
  }
  return methods_.size() - 1;
}

void RpcMetrics::RecordStart(size_t index, const char* type) {
  Method& method = *methods_[index];
  if (!method.ready.load(std::memory_order_acquire)) {
    absl::MutexLock lock(&add_mu_);
    if (!method.ready.load(std::memory_order_relaxed)) {
      method.type = type;
      const prometheus::Labels labels{{"grpc_service", method.service},
                                      {"grpc_method", method.method},
                                      {"grpc_type", method.type}};
      method.started = &started_.Add(labels);
      method.handling = &handling_.Add(labels, HandlingBuckets());
      method.ready.store(true, std::memory_order_release);
    }
  }
  method.started->Increment();
  if (in_flight_ != nullptr) in_flight_->Begin();
}

void RpcMetrics::RecordEnd(size_t index, grpc::StatusCode code,
                           std::chrono::steady_clock::time_point start, bool unary) {
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  Method& method = *methods_[index];
  HandledCounter(method, code)->Increment();
  method.handling->Observe(elapsed.count());
  if (unary && slow_log_ != nullptr) {
    const absl::Duration took = absl::Seconds(elapsed.count());
    if (took >= slow_log_->threshold()) {
      slow_log_->Record(FullName(index), static_cast<int>(code), absl::Now() - took, took);
    }
  }
  if (in_flight_ != nullptr) in_flight_->End();
}

prometheus::Counter* RpcMetrics::HandledCounter(Method& method, grpc::StatusCode code) {
  // Codes outside the known range count as UNKNOWN.
  const size_t slot = static_cast<size_t>(code) < kCodes
                          ? static_cast<size_t>(code)
                          : static_cast<size_t>(grpc::StatusCode::UNKNOWN);
  prometheus::Counter* counter = method.handled[slot].load(std::memory_order_acquire);
  if (counter != nullptr) return counter;
  absl::MutexLock lock(&add_mu_);
  counter = method.handled[slot].load(std::memory_order_relaxed);
  if (counter != nullptr) return counter;
  counter = &handled_.Add({{"grpc_service", method.service},
                           {"grpc_method", method.method},
                           {"grpc_type", method.type},
                           {"grpc_code", GrpcCodeName(static_cast<grpc::StatusCode>(slot))}});
  method.handled[slot].store(counter, std::memory_order_release);
  return counter;
}

std::string RpcMetrics::FullName(size_t index) const {
  const Method& method = *methods_[index];
  return absl::StrCat("/", method.service, "/", method.method);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::InterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

}  // namespace hotpath
