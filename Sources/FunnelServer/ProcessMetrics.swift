import FeatureStore
import Foundation
import Prometheus
import RedisStore
import Serving
import Synchronization

/// The gauges of the running server set at each scrape: the process (`process_resident_memory_bytes`,
/// `process_open_fds`, as Prometheus's client libraries name them), the serving index and model as
/// info metrics (`funnel_index_info{version}` 1; a reload replaces the series) and each store's
/// circuit (`funnel_store_circuit_open{store}`). Thread-safe.
enum ProcessMetrics {
  /// Registers them in `metrics` for `engine` and `breakers`.
  static func register(in metrics: ServingMetrics, engine: ServingEngine, breakers: [CircuitBreaker]) {
    let registry = metrics.registry
    let rss = registry.makeGauge(descriptor: .init(namespace: "process", metricName: "resident_memory", unitName: "bytes",
                                                   helpText: "Resident memory size in bytes."))
    let fds = registry.makeGauge(descriptor: .init(namespace: "process", metricName: "open_fds", unitName: "",
                                                   helpText: "Number of open file descriptors."))
    let circuits = breakers.map { breaker in
      (breaker, registry.makeGauge(descriptor: .init(namespace: "funnel", subsystem: "store", metricName: "circuit_open", unitName: "",
                                                     helpText: "1 while the store's circuit breaker is open (calls fail fast)."),
                                   labels: [("store", breaker.name)]))
    }
    let index = InfoGauge(registry, name: "index", help: "The serving index generation (its version label), 1.")
    let model = InfoGauge(registry, name: "model", help: "The serving ranking model (its version label), 1.")
    metrics.onScrape {
      rss.set(Double(residentBytes()))
      fds.set(Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0))
      for (breaker, gauge) in circuits {
        gauge.set(Double(breaker.stateName == "open" ? 1 : 0))
      }
      index.show(engine.generation.version)
      model.show(engine.ranker.model.version)
    }
  }

  /// Registers `funnel_redis_round_trips_total`, `funnel_redis_redirections_total` and
  /// `funnel_redis_topology_reads_total` for the request path's Redis client, brought up to its
  /// counts at each scrape.
  static func register(in metrics: ServingMetrics, redis: RedisClient) {
    let registry = metrics.registry
    func counter(_ name: String, _ help: String) -> Counter {
      registry.makeCounter(descriptor: .init(namespace: "funnel", subsystem: "redis", metricName: name, unitName: "total", helpText: help))
    }
    let roundTrips = counter("round_trips", "Pipelines and reads the request path's Redis client sent, one per server each.")
    let redirections = counter("redirections", "MOVED and ASK redirections the Redis Cluster client followed.")
    let topology = counter("topology_reads", "Slot-map reads (Redis Cluster) or primary look-ups (Sentinel).")
    let seen = Mutex((0, 0, 0))
    metrics.onScrape {
      let now = redis.counters.snapshot
      let before = seen.withLock { last in defer { last = (now.roundTrips, now.redirections, now.topologyReads) }; return last }
      roundTrips.increment(by: Int64(max(0, now.roundTrips - before.0)))
      redirections.increment(by: Int64(max(0, now.redirections - before.1)))
      topology.increment(by: Int64(max(0, now.topologyReads - before.2)))
    }
  }

  /// Resident set size from /proc/self/statm (pages), 0 where there is none.
  private static func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
  }
}

/// An info metric (`funnel_NAME_info{version="…"} 1`) whose series follows the current version.
private final class InfoGauge: Sendable {
  private let registry: PrometheusCollectorRegistry
  private let name: String, help: String
  private let current = Mutex<(version: String, gauge: Gauge)?>(nil)

  init(_ registry: PrometheusCollectorRegistry, name: String, help: String) {
    self.registry = registry
    (self.name, self.help) = (name, help)
  }

  func show(_ version: String) {
    current.withLock { current in
      guard current?.version != version else { return }
      if let old = current?.gauge { registry.unregisterGauge(old) }
      let gauge = registry.makeGauge(descriptor: .init(namespace: "funnel", metricName: name, unitName: "info", helpText: help),
                                     labels: [("version", version)])
      gauge.set(1.0)
      current = (version, gauge)
    }
  }
}
