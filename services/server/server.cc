#include "services/server/server.h"

#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/expiry_sweeper.h"
#include "engine/keyspace.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "persistence/aof_writer.h"
#include "persistence/data_dir.h"
#include "persistence/file_system.h"
#include "persistence/store.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/admin/admin_service.h"
#include "services/auth/authorizer.h"
#include "services/common/engine_metrics.h"
#include "services/common/in_flight_calls.h"
#include "services/common/persistence_metrics.h"
#include "services/common/rpc_metrics.h"
#include "services/common/serving_gate.h"
#include "services/common/version.h"
#include "services/health/health_service.h"
#include "services/leaderboard/board_store.h"
#include "services/leaderboard/leaderboard_metrics.h"
#include "services/leaderboard/leaderboard_service.h"
#include "services/leaderboard/reset_scheduler.h"
#include "services/leaderboard/watch_hub.h"
#include "services/pubsub/consumer_hub.h"
#include "services/pubsub/group_store.h"
#include "services/pubsub/pubsub_metrics.h"
#include "services/pubsub/pubsub_service.h"
#include "services/pubsub/subscriber_hub.h"
#include "services/pubsub/topic_store.h"
#include "services/ratelimit/envoy_config.h"
#include "services/ratelimit/envoy_service.h"
#include "services/ratelimit/rate_limiter.h"
#include "services/ratelimit/ratelimit_service.h"
#include "services/server/drain.h"
#include "services/server/file_reloader.h"
#include "services/server/tls.h"
#include "services/session/session_service.h"
#include "services/session/session_store.h"

namespace hotpath {

// Member order is construction order; destruction runs backwards, so the gRPC server goes
// before the services and the keyspace it calls into.
struct HotpathServer::Parts {
  ServerConfig config;
  std::unique_ptr<DataDir> data_dir;
  std::unique_ptr<Store> store;  // before the keyspace, which reports to it
  // Before the keyspace too, which tells it of expirations; stopped in Shutdown, before the
  // keyspace goes.
  std::unique_ptr<session::SessionEvents> session_events;
  DirectoryRecoveryStats recovery;
  std::shared_ptr<PersistenceMetrics> persistence_metrics;
  std::unique_ptr<Keyspace> keyspace;
  std::unique_ptr<ExpirySweeper> sweeper;
  std::shared_ptr<prometheus::Registry> registry;
  InFlightCalls in_flight;
  std::unique_ptr<RpcMetrics> rpc_metrics;
  std::unique_ptr<SlowLog> slow_log;
  std::shared_ptr<EngineMetrics> engine_metrics;  // the exposer keeps only a weak_ptr
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<auth::Authorizer> authorizer;  // before the gate and services that use it
  ServingGate gate;                              // opened once the data directory is loaded
  std::unique_ptr<HealthService> health;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<ratelimit::RateLimiter> limiter;
  std::unique_ptr<ratelimit::RateLimitMetrics> ratelimit_metrics;
  std::unique_ptr<ratelimit::RateLimitService> ratelimit;
  std::unique_ptr<ratelimit::EnvoyRateLimitService> envoy_ratelimit;
  std::unique_ptr<FileReloader> files;
  std::unique_ptr<session::SessionStore> sessions;
  std::unique_ptr<session::SessionMetrics> session_metrics;
  std::unique_ptr<session::SessionService> session_service;
  std::unique_ptr<leaderboard::BoardStore> boards;
  std::unique_ptr<leaderboard::WatchHub> watch_hub;
  std::unique_ptr<leaderboard::ResetScheduler> reset_scheduler;
  std::shared_ptr<leaderboard::LeaderboardMetrics> leaderboard_metrics;
  std::unique_ptr<leaderboard::LeaderboardService> leaderboard_service;
  std::unique_ptr<pubsub::TopicStore> topics;
  std::unique_ptr<pubsub::SubscriberHub> subscribers;
  std::unique_ptr<pubsub::GroupStore> groups;
  std::unique_ptr<pubsub::ConsumerHub> consumers;
  std::unique_ptr<pubsub::PubSubService> pubsub_service;
  std::shared_ptr<pubsub::PubSubMetrics> pubsub_metrics;
  std::unique_ptr<grpc::Server> server;
  std::string grpc_address;
  std::string metrics_address;
  std::string data_dir_path;
  bool shut_down = false;

  // A start that fails half way still stops the metrics endpoint promptly.
  ~Parts() { StopExposer(std::move(exposer), metrics_address); }
};

namespace {

// The services hotpathd registers, by fully qualified name.
const std::vector<std::string>& ServiceNames() {
  static const auto* names = new std::vector<std::string>{
      "hotpath.admin.v1.AdminService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1alpha.ServerReflection",
      "hotpath.ratelimit.v1.RateLimiterService",
      "envoy.service.ratelimit.v3.RateLimitService",
      "hotpath.session.v1.SessionService",
      "hotpath.leaderboard.v1.LeaderboardService",
      "hotpath.pubsub.v1.PubSubService",
  };
  return *names;
}

// "/pkg.Service/Method" for every method of the registered services: the only method label
// values the RPC metrics will use.
std::vector<std::string> KnownMethods() {
  std::vector<std::string> methods;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : ServiceNames()) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return methods;
}

std::string HostOf(const std::string& address) { return address.substr(0, address.rfind(':')); }

absl::Status StartMetrics(HotpathServer::Parts& parts) {
  parts.registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("hotpath_build_info")
      .Help("Build of the running hotpathd; the value is always 1.")
      .Register(*parts.registry)
      .Add({{"version", kVersion}, {"compiler", kCompiler}})
      .Set(1);
  parts.rpc_metrics = std::make_unique<RpcMetrics>(*parts.registry, KnownMethods(),
                                                   &parts.in_flight, parts.slow_log.get());
  // prometheus-cpp reports a failed bind by exception; it stops here as a Status.
  try {
    parts.exposer = std::make_unique<prometheus::Exposer>(parts.config.metrics_address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", parts.config.metrics_address, ": ", e.what()));
  }
  parts.exposer->RegisterCollectable(parts.registry);
  parts.engine_metrics =
      std::make_shared<EngineMetrics>(parts.keyspace.get(), parts.config.max_memory);
  parts.exposer->RegisterCollectable(parts.engine_metrics);
  const std::vector<int> ports = parts.exposer->GetListeningPorts();
  parts.metrics_address =
      absl::StrCat(HostOf(parts.config.metrics_address), ":", ports.empty() ? 0 : ports.front());
  return absl::OkStatus();
}

absl::Status StartGrpc(HotpathServer::Parts& parts) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      GrpcServerCredentials(parts.config);
  if (!credentials.ok()) return credentials.status();
  // Process-wide: once turned on, every server built afterwards in this process serves
  // reflection (hotpathd builds one).
  if (parts.config.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(parts.config.grpc_address, *credentials, &port);
  // Room for the largest message a publish may carry, with its headers.
  builder.SetMaxReceiveMessageSize(
      std::max<int>(4 << 20, static_cast<int>(parts.config.pubsub_max_payload_bytes) + (1 << 20)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      static_cast<int>(std::min<uint32_t>(parts.config.max_streams_per_connection, INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                             static_cast<int>(parts.config.max_metadata_bytes));
  builder.RegisterService(parts.health.get());
  builder.RegisterService(parts.admin.get());
  builder.RegisterService(parts.ratelimit.get());
  builder.RegisterService(parts.envoy_ratelimit.get());
  builder.RegisterService(parts.session_service.get());
  builder.RegisterService(parts.leaderboard_service.get());
  builder.RegisterService(parts.pubsub_service.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(parts.rpc_metrics->InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  parts.server = builder.BuildAndStart();
  if (parts.server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve gRPC on ", parts.config.grpc_address,
                                               ": the address is in use or not local"));
  }
  parts.grpc_address = absl::StrCat(HostOf(parts.config.grpc_address), ":", port);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HotpathServer>> HotpathServer::Start(const ServerConfig& config) {
  auto parts = std::make_unique<Parts>();
  parts->config = config;
  if (config.persistence_enabled) {
    absl::StatusOr<std::unique_ptr<DataDir>> dir = DataDir::Open(config.data_dir);
    if (!dir.ok()) return dir.status();
    parts->data_dir = *std::move(dir);
    parts->data_dir_path = parts->data_dir->path();
    absl::StatusOr<FsyncPolicy> fsync = ParseFsyncPolicy(config.fsync);
    if (!fsync.ok()) return fsync.status();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(
        PosixFileSystem(), {.dir = parts->data_dir_path,
                            .shards = config.shards,
                            .writer = {.fsync = *fsync, .group_min_calls = config.group_min_calls},
                            .rewrite_min_bytes = config.rewrite_min_bytes,
                            .rewrite_growth_percent = config.rewrite_percentage});
    if (!store.ok()) return store.status();
    parts->store = *std::move(store);
  }
  parts->session_events = std::make_unique<session::SessionEvents>(session::SessionEventsOptions{});
  absl::StatusOr<std::unique_ptr<Keyspace>> keyspace =
      Keyspace::Create({.shards = config.shards}, SystemClock::Get(), parts->store.get(),
                       parts->session_events.get());
  if (!keyspace.ok()) return keyspace.status();
  parts->keyspace = *std::move(keyspace);

  parts->slow_log = std::make_unique<SlowLog>(config.slowlog_threshold, config.slowlog_length);
  absl::Status metrics = StartMetrics(*parts);
  if (!metrics.ok()) return metrics;

  parts->authorizer =
      std::make_unique<auth::Authorizer>(parts->registry.get(), config.auth_exempt_health);
  parts->gate.SetAuthorizer(parts->authorizer.get());
  RpcMetrics* calls = parts->rpc_metrics.get();
  parts->health = std::make_unique<HealthService>(ServiceNames(), parts->authorizer.get(), calls);
  parts->admin = std::make_unique<AdminService>(
      parts->keyspace.get(), parts->store.get(), parts->data_dir_path, config.fsync,
      parts->slow_log.get(), &parts->in_flight, parts->authorizer.get(), calls);
  parts->limiter = std::make_unique<ratelimit::RateLimiter>(parts->keyspace.get());
  parts->ratelimit_metrics = std::make_unique<ratelimit::RateLimitMetrics>(*parts->registry);
  parts->ratelimit = std::make_unique<ratelimit::RateLimitService>(
      parts->limiter.get(), parts->store.get(), nullptr, parts->ratelimit_metrics.get(),
      &parts->gate, calls);
  parts->envoy_ratelimit = std::make_unique<ratelimit::EnvoyRateLimitService>(
      parts->limiter.get(), nullptr, config.ratelimit_envoy_headers, parts->ratelimit_metrics.get(),
      &parts->gate, calls);
  parts->files = std::make_unique<FileReloader>(
      FileReloader::Files{.policy_file = config.ratelimit_policy_file,
                          .envoy_config = config.ratelimit_envoy_config,
                          .access_file = config.auth_access_file},
      parts->ratelimit.get(), parts->envoy_ratelimit.get(), parts->authorizer.get(),
      absl::Seconds(1));
  parts->sessions = std::make_unique<session::SessionStore>(
      parts->keyspace.get(),
      session::SessionLimits{.default_idle_timeout = config.session_default_idle_timeout,
                             .default_lifetime = config.session_default_lifetime,
                             .max_attributes = config.session_max_attributes,
                             .max_attribute_bytes = config.session_max_attribute_bytes,
                             .rotation_grace = config.session_rotation_grace,
                             .max_sessions_per_user = config.session_max_per_user,
                             .evict_oldest = config.session_over_cap == "evict_oldest"},
      parts->session_events.get());
  parts->session_metrics = std::make_unique<session::SessionMetrics>(*parts->registry);
  parts->session_service = std::make_unique<session::SessionService>(
      parts->sessions.get(), parts->store.get(), parts->session_metrics.get(), &parts->gate, calls);
  session::SessionMetrics* session_metrics = parts->session_metrics.get();
  parts->session_events->set_on_expired(
      [session_metrics] { session_metrics->Count(session::SessionMetrics::Event::kExpired); });
  parts->session_events->set_on_lost([session_metrics] { session_metrics->EventLost(); });
  parts->boards = std::make_unique<leaderboard::BoardStore>(
      parts->keyspace.get(),
      leaderboard::BoardLimits{.max_metadata_bytes = config.leaderboard_max_metadata_bytes,
                               .max_page = config.leaderboard_max_page,
                               .max_kept_seasons = config.leaderboard_max_kept_seasons,
                               .max_boards = config.leaderboard_max_boards});
  parts->watch_hub = std::make_unique<leaderboard::WatchHub>(parts->boards.get());
  parts->reset_scheduler =
      std::make_unique<leaderboard::ResetScheduler>(parts->boards.get(), SystemClock::Get());
  parts->leaderboard_metrics = std::make_shared<leaderboard::LeaderboardMetrics>(
      parts->boards.get(), parts->watch_hub.get());
  leaderboard::WatchHub* hub = parts->watch_hub.get();
  leaderboard::LeaderboardMetrics* board_metrics = parts->leaderboard_metrics.get();
  parts->boards->set_on_change(
      [hub](const std::string& ns, const std::string& board) { hub->Changed(ns, board); });
  parts->boards->set_on_reset([board_metrics] { board_metrics->Reset(); });
  parts->leaderboard_service = std::make_unique<leaderboard::LeaderboardService>(
      parts->boards.get(), parts->watch_hub.get(), parts->store.get(),
      parts->leaderboard_metrics.get(), &parts->gate, calls);
  parts->topics = std::make_unique<pubsub::TopicStore>(
      parts->keyspace.get(),
      pubsub::TopicLimits{.max_payload_bytes = config.pubsub_max_payload_bytes,
                          .max_topics = config.pubsub_max_topics,
                          .auto_create = config.pubsub_auto_create_topics});
  parts->subscribers = std::make_unique<pubsub::SubscriberHub>(parts->topics.get(),
                                                               config.pubsub_max_subscriber_lag);
  pubsub::SubscriberHub* subscribers = parts->subscribers.get();
  parts->groups = std::make_unique<pubsub::GroupStore>(parts->keyspace.get(), parts->topics.get(),
                                                       pubsub::GroupLimits{});
  parts->consumers = std::make_unique<pubsub::ConsumerHub>(parts->groups.get(), SystemClock::Get(),
                                                           config.pubsub_redelivery_check_interval);
  pubsub::ConsumerHub* consumers = parts->consumers.get();
  parts->topics->set_on_publish(
      [subscribers, consumers](const std::string& ns, const std::string& topic) {
        subscribers->Published(ns, topic);
        consumers->Published(ns, topic);
      });
  parts->topics->set_on_created([subscribers](const std::string& ns, const std::string& topic) {
    subscribers->Created(ns, topic);
  });
  parts->session_events->set_on_appended([subscribers](const std::string& ns) {
    subscribers->Published(ns, pubsub::kSessionEventsTopic);
  });
  parts->pubsub_service = std::make_unique<pubsub::PubSubService>(
      parts->topics.get(), parts->subscribers.get(), parts->groups.get(), parts->consumers.get(),
      parts->store.get(), &parts->gate, calls);
  parts->pubsub_metrics = std::make_shared<pubsub::PubSubMetrics>(
      parts->topics.get(), parts->subscribers.get(), parts->groups.get(), parts->consumers.get(),
      parts->pubsub_service.get());
  // Before gRPC starts: with an access file, no call is ever served without its rules.
  absl::Status files = parts->files->Reload(/*force=*/true);
  if (!files.ok()) return files;
  absl::Status grpc = StartGrpc(*parts);
  if (!grpc.ok()) return grpc;

  // Loading happens here, while health reports NOT_SERVING.
  if (parts->store != nullptr) {
    absl::StatusOr<DirectoryRecoveryStats> recovered = parts->store->Recover(parts->keyspace.get());
    if (!recovered.ok()) return recovered.status();
    parts->recovery = *recovered;
    parts->persistence_metrics =
        std::make_shared<PersistenceMetrics>(parts->store.get(), parts->recovery);
    parts->exposer->RegisterCollectable(parts->persistence_metrics);
  }
  parts->sweeper = std::make_unique<ExpirySweeper>(
      parts->keyspace.get(),
      ExpirySweeperOptions{.interval = config.expiry_interval,
                           .slice_keys = config.expiry_slice_keys,
                           .deferred_flush_interval = config.ratelimit_persist_interval,
                           .memory_limit = config.max_memory});
  // Repaired and counted before the sweeper starts removing sessions, so each expiry counts
  // down once.
  parts->session_metrics->SetActive(session::SessionStore::AtStart(*parts->keyspace).live);
  // Seasons that ended while the server was down end now, before the first call.
  absl::Status boards = parts->boards->Start();
  if (!boards.ok()) return boards;
  parts->exposer->RegisterCollectable(parts->leaderboard_metrics);
  absl::Status topics = parts->topics->Start();
  if (!topics.ok()) return topics;
  parts->exposer->RegisterCollectable(parts->pubsub_metrics);
  parts->sweeper->Start();
  parts->session_events->Start(parts->keyspace.get());
  parts->watch_hub->Start();
  parts->subscribers->Start();
  parts->consumers->Start();
  parts->reset_scheduler->Start();
  parts->files->Start();
  parts->gate.SetMemoryCap(parts->keyspace.get(), config.max_memory);
  parts->gate.Open();
  parts->health->SetServing(true);
  return std::unique_ptr<HotpathServer>(new HotpathServer(std::move(parts)));
}

HotpathServer::HotpathServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

HotpathServer::~HotpathServer() { (void)Shutdown(); }

const std::string& HotpathServer::grpc_address() const { return parts_->grpc_address; }
const std::string& HotpathServer::metrics_address() const { return parts_->metrics_address; }
const std::string& HotpathServer::data_dir() const { return parts_->data_dir_path; }
const DirectoryRecoveryStats& HotpathServer::recovery() const { return parts_->recovery; }

absl::Status HotpathServer::ReloadFiles() { return parts_->files->Reload(/*force=*/true); }

absl::Status HotpathServer::Shutdown() {
  if (parts_->shut_down) return absl::OkStatus();
  parts_->shut_down = true;
  parts_->health->Shutdown();
  // Watch and Subscribe streams end now rather than at the drain deadline.
  parts_->watch_hub->Stop();
  parts_->subscribers->Stop();
  parts_->consumers->Stop();
  DrainGrpc(*parts_->server, parts_->in_flight, absl::Now() + parts_->config.drain_timeout);
  parts_->sweeper->Stop();
  parts_->reset_scheduler->Stop();
  parts_->files->Stop();
  parts_->session_events->Stop();  // appends what is queued
  StopExposer(std::move(parts_->exposer), parts_->metrics_address);
  // No call runs any more: record the latest limiter state, write and sync the log, then let
  // go of the data directory.
  parts_->keyspace->FlushDeferred();
  absl::Status flushed;
  if (parts_->store != nullptr) flushed = parts_->store->Close();
  parts_->data_dir.reset();
  return flushed;
}

}  // namespace hotpath
