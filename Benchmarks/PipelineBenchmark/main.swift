// In-process latency of the serving pipeline on the embedded demo store (no transport).
//
//   swift run -c release --package-path Benchmarks funnel-bench-pipeline [--requests N] [--items N] [--users N] [--scene home]
//
// Prints one JSON line per scene with p50/p90/p99/max in microseconds, so a run is easy to diff.
import DemoCatalog
import FeatureStore
import FunnelCore
import IndexBuilder
import IndexFormat
import Serving
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

func argument(_ name: String, default value: Int) -> Int {
  let args = CommandLine.arguments
  guard let i = args.firstIndex(of: name), i + 1 < args.count, let n = Int(args[i + 1]) else { return value }
  return n
}

/// The whole run. Top-level code stays synchronous and waits on a semaphore instead of being an async
/// main: an async main parks the main thread in `dispatchMain`, which ends it with `pthread_exit`, and
/// valgrind 3.19 (Debian 12's) crashes creating threads after that, so callgrind could not count
/// the pipeline's instructions.
func run() async throws {
  let requests = argument("--requests", default: 5_000)
  let demo: DemoStore.Configuration = {
    var c = DemoStore.Configuration.standard(endTimeMs: 1_790_000_000_000)
    c.itemCount = argument("--items", default: c.itemCount)
    c.userCount = argument("--users", default: c.userCount)
    return c
  }()
  let nowMs = demo.endTimeMs
  let userCount = demo.userCount

  let buildClock = ContinuousClock()
  let start = buildClock.now
  let store = DemoStore(demo)
  let featureStore = EmbeddedFeatureStore()
  featureStore.seed(store.events)
  let generation = try GenerationBuilder().build(items: store.items, events: store.events, nowMs: demo.endTimeMs,
                                             version: "bench").open()
  struct Source: IndexGenerationSource {
    let generation: IndexGeneration
    func loadGeneration() async throws -> IndexGeneration { generation }
  }
  let engine = ServingEngine(dependencies: ServingDependencies(generation: generation, generationSource: Source(generation: generation),
                             activity: featureStore, events: featureStore, storeName: "embedded",
                             now: { nowMs }))
  let setup = buildClock.now - start
  print("{\"setup_seconds\":\(Double(setup.components.seconds) + Double(setup.components.attoseconds) / 1e18),\"items\":\(store.items.count),\"events\":\(store.events.count)}")

  func percentile(_ sorted: [UInt64], _ p: Double) -> UInt64 { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }

  var rng = SplitMix64(seed: 1)
  let scenes: [(String, (Int) -> RecommendInput?, ((Int) -> SearchInput)?)] = [
    ("home", { RecommendInput(userID: "U-\($0 % userCount + 1)", scene: .home, count: 20) }, nil),
    ("item_page", { RecommendInput(userID: "U-\($0 % userCount + 1)", scene: .itemPage, count: 20,
                                   anchorItemIDs: [store.items[$0 * 7919 % store.items.count].id]) }, nil),
    ("search", { _ in nil }, { SearchInput(query: ["ceramic mug", "espresso", "yoga mat", "oak lamp"][$0 % 4], count: 20) }),
  ]
  // `--scene NAME`: that scene only (e.g. under `valgrind --tool=callgrind`, where runs of N and 2N
  // requests give the instructions of N requests by difference).
  let only = CommandLine.arguments.firstIndex(of: "--scene").map { CommandLine.arguments[$0 + 1] }
  for (name, makeRecommend, makeSearch) in scenes where only == nil || only == name {
    var micros: [UInt64] = []
    micros.reserveCapacity(requests)
    for i in 0..<requests {
      let user = Int(rng.next() % UInt64(1 << 30)) + i
      let watch = Stopwatch()
      if let input = makeRecommend(user) {
        _ = try await engine.recommend(input)
      } else if let makeSearch {
        _ = try await engine.search(makeSearch(user))
      }
      micros.append(watch.elapsedMicros)
    }
    micros.sort()
    print("{\"scene\":\"\(name)\",\"requests\":\(requests),\"p50_us\":\(percentile(micros, 0.5)),"
          + "\"p90_us\":\(percentile(micros, 0.9)),\"p99_us\":\(percentile(micros, 0.99)),\"max_us\":\(micros.last ?? 0)}")
  }
}

let finished = DispatchSemaphore(value: 0)
nonisolated(unsafe) var failure: (any Error)?
Task.detached {
  do { try await run() } catch { failure = error }
  finished.signal()
}
finished.wait()
if let failure { fatalError("\(failure)") }
