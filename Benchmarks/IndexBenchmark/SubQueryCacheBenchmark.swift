// Sub-query cache under a request load: filters drawn with Zipfian popularity from a pool of range
// sub-queries (price bands, rating and weight thresholds) combined with keyword terms, compiled
// through `SubQueryResolver` as serving does. Without Redis it reports the in-process LRU alone;
// with `--redis URL` a second resolver (a second replica with a cold LRU) runs the same load and
// shows what the shared level saves it.
import FunnelCore
import IndexFormat
import Recall
import RedisStore

/// The filter texts of the load: `count` requests over a pool of distinct range sub-queries.
func subQueryWorkload(count: Int, seed: UInt64) -> [String] {
  var rng = SplitMix64(seed: seed)
  let categories = ["kitchen", "home", "garden", "sports", "\"home/lighting\"", "stationery"]
  // 120 price bands x 4 rating thresholds x 6 weight limits: a pool of 130 range sub-queries.
  return (0..<count).map { _ in
    let band = rng.zipfIndex(120, s: 1.0)
    let low = 2 + band / 4 * 3, high = low + 5 + (band % 4) * 10
    var filter = "category:\(categories[rng.zipfIndex(categories.count)]) AND price:[\(low) TO \(high)}"
    if rng.unit() < 0.5 { filter += " AND attr.rating:>=\([3, 3.5, 4, 4.5][rng.zipfIndex(4)])" }
    if rng.unit() < 0.3 { filter += " AND attr.weight_kg:<\(rng.zipfIndex(6) + 1)" }
    return filter
  }
}

/// Compiles every filter of `workload` through `resolver`; prints hit rates and compile latency.
func runSubQueryLoad(_ name: String, _ resolver: SubQueryResolver, _ workload: [String], generation: IndexGeneration) async throws {
  let clock = ContinuousClock()
  var samples: [Double] = []
  samples.reserveCapacity(workload.count)
  for text in workload {
    guard let expression = try FilterParser.parse(text) else { continue }
    let start = clock.now
    _ = try await resolver.compile(expression, generation: generation)
    let d = clock.now - start
    samples.append(Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12)
  }
  samples.sort()
  let s = resolver.stats
  print("{\"channel\":\"subquery_cache_\(name)\",\"filters\":\(workload.count),\"lookups\":\(s.total),"
    + "\"local_hit_rate\":\(s.localHitRate),\"shared_hit_rate\":\(s.sharedHitRate),\"misses\":\(s.misses),"
    + "\"compile_p50_us\":\(Int(samples[samples.count / 2])),\"compile_p99_us\":\(Int(samples[samples.count * 99 / 100]))}")
}

/// The whole sub-query section of the benchmark.
func subQueryCacheBenchmark(generation: IndexGeneration, redisURL: String?) async throws {
  let workload = subQueryWorkload(count: 5_000, seed: 7)
  // An LRU smaller than the pool, as on a replica whose traffic has a long tail of filters.
  try await runSubQueryLoad("lru_64", SubQueryResolver(localCapacity: 64, shared: nil), workload, generation: generation)
  guard let redisURL else { return }
  let client = try RedisClient(url: redisURL, timeoutMs: 200)
  let prefix = "funnel:bench:\(UInt64.random(in: 0...UInt64.max)):"
  try await runSubQueryLoad("replica_a_redis", SubQueryResolver(localCapacity: 64, shared: RedisBitmapCache(client: client, keyPrefix: prefix)),
                            workload, generation: generation)
  try await runSubQueryLoad("replica_b_redis", SubQueryResolver(localCapacity: 64, shared: RedisBitmapCache(client: client, keyPrefix: prefix)),
                            subQueryWorkload(count: 5_000, seed: 8), generation: generation)
}
