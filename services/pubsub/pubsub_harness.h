// For tests: the pub/sub service and its parts in-process, over real gRPC on a loopback port,
// with the hubs started and wired as hotpathd wires them. The gate starts closed.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "services/pubsub/consumer_hub.h"
#include "services/pubsub/group_store.h"
#include "services/pubsub/pubsub_service.h"
#include "services/pubsub/subscriber_hub.h"
#include "services/pubsub/topic_store.h"

namespace hotpath::pubsub {

// A client context with a 30 s deadline, so that no test waits forever.
inline std::unique_ptr<grpc::ClientContext> TestContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

class PubSubHarness {
 public:
  explicit PubSubHarness(uint64_t max_lag, absl::Duration consumer_tick = absl::Milliseconds(20))
      : keyspace(Keyspace::Create({.shards = 4}, SystemClock::Get()).value()),
        topics(keyspace.get(), TopicLimits{}),
        groups(keyspace.get(), &topics, GroupLimits{}),
        hub(&topics, max_lag),
        consumers(&groups, SystemClock::Get(), consumer_tick),
        service(&topics, &hub, &groups, &consumers, nullptr, &gate) {
    topics.set_on_publish([this](const std::string& ns, const std::string& topic) {
      hub.Published(ns, topic);
      consumers.Published(ns, topic);
    });
    topics.set_on_created(
        [this](const std::string& ns, const std::string& topic) { hub.Created(ns, topic); });
    (void)topics.Start();
    hub.Start();
    consumers.Start();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    stub = v1::PubSubService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~PubSubHarness() {
    hub.Stop();
    consumers.Stop();
    server->Shutdown();
  }

  ServingGate gate;
  std::unique_ptr<Keyspace> keyspace;
  TopicStore topics;
  GroupStore groups;
  SubscriberHub hub;
  ConsumerHub consumers;
  PubSubService service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::PubSubService::Stub> stub;
};

}  // namespace hotpath::pubsub
