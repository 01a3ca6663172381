// Micro-benchmarks of the hot kernels, single-threaded, release build:
//   Benchmarks/Micro/run.sh            # run, compare with baselines/current.json, print the diff
//   Benchmarks/Micro/run.sh --update   # run and write the baseline
// Suites: recall (each channel and the merged multi-channel recall of a home request on the demo
// shop), scoring (a 500-tree ensemble and the built-in linear model over 1,000 candidates), features
// (user profile from 100 interactions; the ranker's matrix fill for the recalled candidates),
// serialisation (protobuf answer of 20 items, packed interactions, a catalog JSON line).
@preconcurrency import Benchmark
import FeatureStore
import FunnelCore
import FunnelGRPC
import FunnelJSON
import IndexBuilder
import IndexFormat
import Ranking
import Recall
import Serving
import SwiftProtobuf

/// Keeps a result alive so the optimiser cannot drop the work that made it.
@inline(never) func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

let generation = Fixtures.generation
let recent: [RecentInteraction] = Fixtures.store.events.filter { $0.userID == "U-42" }.suffix(100).reversed()
  .map { RecentInteraction(itemID: $0.itemID, kind: $0.kind, timestampMs: $0.timestampMs) }
let profile = UserProfile(recent: recent, generation: generation, nowMs: Fixtures.nowMs)
var recallRequest = RecallRequest(seeds: profile.seeds, categoryAffinity: profile.leafAffinities(limit: 8, in: generation),
                                  queryTerms: [])
recallRequest.purchases = profile.purchases
let homeChannels: [(any RecallChannel, Int)] = [
  (SimilarItemsRecall(), 300), (CategoryRecall(), 300), (PopularRecall(), 200), (TrendingRecall(), 100), (VectorRecall(), 200),
]
let candidates: [Candidate] = {
  var collector = CandidateCollector()
  for (channel, quota) in homeChannels { channel.recall(recallRequest, in: generation, quota: quota, into: &collector) }
  return collector.candidates
}()
let filter = try! CompiledFilter(FilterParser.parse("category:kitchen AND price:[5 TO 30] AND NOT tag:black")!, generation: generation)
let ranker = CandidateRanker(model: BuiltinModel.model)
let answer: Funnel_V1_RecommendResponse = {
  var response = Funnel_V1_RecommendResponse()
  response.items = candidates.prefix(20).map { c in
    var item = Funnel_V1_RecommendedItem()
    item.itemID = generation.items.id(c.doc)
    item.score = Double(c.popularScore)
    item.channels = c.channels.names
    item.reasons = ["often bought with items you viewed", "popular right now"]
    return item
  }
  response.requestID = "3f2a9c1d7e6b5a40"
  response.modelVersion = "builtin-linear-v2"
  response.indexVersion = "gen-20261122T000000Z-0a1b"
  return response
}()
let answerBytes: [UInt8] = try! answer.serializedBytes()
let catalogLine = Array(#"{"attrs":{"colour":"sage","rating":4.5},"brand":"Fieldcraft","category":"garden/plants/seeds","id":"SKU-100000","in_stock":true,"price":12.99,"tags":["eco","bamboo","sage"],"title":"Fieldcraft eco bamboo seed tray, sage"}"#.utf8)
var scores = [Float](repeating: 0, count: 1_000)

let recall = BenchmarkSuite(name: "recall") { suite in
  for (channel, quota) in homeChannels {
    suite.benchmark("\(channel.channel.names.joined()) quota \(quota)") {
      var collector = CandidateCollector()
      channel.recall(recallRequest, in: generation, quota: quota, into: &collector)
      consume(collector)
    }
  }
  suite.benchmark("text BM25 top 100, 'ceramic mug'") {
    var collector = CandidateCollector()
    TextRecall().recall(RecallRequest(queryTerms: ["ceramic", "mug"]), in: generation, quota: 100, into: &collector)
    consume(collector)
  }
  suite.benchmark("rule filter, compile and popular 200") {
    var collector = CandidateCollector()
    RuleRecall(filter: filter).recall(recallRequest, in: generation, quota: 200, into: &collector)
    consume(collector)
  }
  suite.benchmark("home: five channels merged (\(candidates.count) candidates)") {
    var collector = CandidateCollector()
    for (channel, quota) in homeChannels { channel.recall(recallRequest, in: generation, quota: quota, into: &collector) }
    consume(collector)
  }
}

let scoring = BenchmarkSuite(name: "scoring") { suite in
  suite.benchmark("500 trees x 1,000 rows") {
    Fixtures.forest.score(Fixtures.matrix, into: &scores)
    consume(scores)
  }
  suite.benchmark("linear x 1,000 rows") {
    BuiltinModel.model.score(Fixtures.matrix, into: &scores)
    consume(scores)
  }
}

let features = BenchmarkSuite(name: "features") { suite in
  suite.benchmark("user profile from 100 interactions") {
    consume(UserProfile(recent: recent, generation: generation, nowMs: Fixtures.nowMs))
  }
  suite.benchmark("fill and rank \(candidates.count) candidates (built-in model)") {
    consume(ranker.rank(candidates, RankingInputs(profile: profile, generation: generation, nowMs: Fixtures.nowMs)))
  }
}

let serialisation = BenchmarkSuite(name: "serialisation") { suite in
  suite.benchmark("protobuf answer of 20 items, encode") { consume(try answer.serializedBytes() as [UInt8]) }
  suite.benchmark("protobuf answer of 20 items, decode") { consume(try Funnel_V1_RecommendResponse(serializedBytes: answerBytes)) }
  suite.benchmark("packed interaction, encode + decode") {
    consume(PackedInteraction.decode(PackedInteraction.encode(recent[0])))
  }
  suite.benchmark("catalog JSON line, parse") { consume(catalogLine.withUnsafeBytes { JSONValue.parse($0) }) }
}

Benchmark.main([recall, scoring, features, serialisation])
