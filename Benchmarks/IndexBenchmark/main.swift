// Index build and recall benchmark on a synthetic catalog (the demo generator at scale).
//
//   swift build -c release --package-path Benchmarks --product funnel-bench-index
//   Benchmarks/.build/release/funnel-bench-index --items 1000000 --users 100000 [--queries 2000] [--dir /tmp/funnel-bench-index]
//                                     [--no-vectors] [--zipf-text 50000] [--export DIR] [--redis redis://127.0.0.1:6379]
//   Benchmarks/.build/release/funnel-bench-index --text-on INDEX_DIR [--k 1000] [--rounds 200] [--zipf-text 50000] [--query Q]   (BM25 only, an existing index)
//   Benchmarks/.build/release/funnel-bench-index --ann VECTORS.f32 --dimension 32 [--queries 1000] [--efs 100,200,400]   (HNSW only)
// --no-vectors drops the demo embeddings (no vectors file, no HNSW build: the catalog of a shop
// without an embedding model).
//
// Prints JSON lines: generation (s), build (items/s, bytes), open (ms), then per channel and for a
// full multi-channel recall of ~1000 candidates: p50/p99 latency in microseconds, single-threaded;
// then the filter sub-query cache under a Zipfian filter load (hit rates per level; with --redis, a
// second cold replica sharing the Redis level).
import DemoCatalog
import Foundation
import FunnelCore
import IndexBuilder
import IndexFormat
import MappedStorage
import Recall
import TextAnalysis

func argument(_ name: String, _ value: Int) -> Int {
  let args = CommandLine.arguments
  guard let i = args.firstIndex(of: name), i + 1 < args.count, let n = Int(args[i + 1]) else { return value }
  return n
}
func stringArgument(_ name: String, _ value: String) -> String {
  let args = CommandLine.arguments
  guard let i = args.firstIndex(of: name), i + 1 < args.count else { return value }
  return args[i + 1]
}
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
func micros(_ d: Duration) -> Double { seconds(d) * 1e6 }

/// `--ann VECTORS.f32 --dimension D [--queries Q] [--efs 100,200,400]`: only the HNSW graph, over raw
/// little-endian f32 vectors (`--export` writes them; hnswlib reads the same file in
/// Benchmarks/peers/compare.py): build seconds, then per ef recall@100 against exact search and
/// queries per second, single-threaded, on queries made as compare.py makes them (an item's vector
/// plus uniform noise of 0.1, normalised).
if CommandLine.arguments.contains("--ann") {
  let path = stringArgument("--ann", ""), dimension = argument("--dimension", 32)
  let raw = try Data(contentsOf: URL(fileURLWithPath: path))
  let floats = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  let vectors = stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<($0 + dimension)]) }
  let timer = ContinuousClock()
  let started = timer.now
  let file = VectorIndexBuilder.file(vectors: vectors, m: argument("--m", 16), efConstruction: argument("--ef-construction", 100))
  let buildSeconds = seconds(timer.now - started)
  let index = try VectorIndex(ByteRegion(copying: file, name: "vectors"), documentCount: vectors.count, verifyChecksum: false)
  print("{\"stage\":\"hnsw_build\",\"items\":\(vectors.count),\"dimension\":\(dimension),\"seconds\":\(buildSeconds)}")
  var rng = SplitMix64(seed: 29)
  var queries = (0..<argument("--queries", 1_000)).map { _ in
    vectors[Int(rng.next() % UInt64(vectors.count))].map { $0 + Float(rng.unit() * 0.2 - 0.1) }
  }
  if CommandLine.arguments.contains("--query-file") {  // raw f32 queries (e.g. the ones hnswlib is given)
    let data = try Data(contentsOf: URL(fileURLWithPath: stringArgument("--query-file", "")))
    let q = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    queries = stride(from: 0, to: q.count, by: dimension).map { Array(q[$0..<($0 + dimension)]) }
  }
  let exact = queries.map { Set(index.exactSearch($0, k: 100).map(\.0)) }
  for ef in stringArgument("--efs", "100,150,200,300,400").split(separator: ",").compactMap({ Int($0) }) {
    var found = 0
    for q in queries.prefix(50) { _ = index.search(q, k: 100, ef: ef, method: .graph) }  // warm-up
    let start = timer.now
    var results: [[DocID]] = []
    results.reserveCapacity(queries.count)
    for q in queries { results.append(index.search(q, k: 100, ef: ef, method: .graph).map(\.0)) }
    let took = seconds(timer.now - start)
    for (truth, got) in zip(exact, results) { found += got.filter { truth.contains($0) }.count }
    print("{\"channel\":\"hnsw_search\",\"ef\":\(ef),\"queries\":\(queries.count),\"recall_at_100\":\(Double(found) / Double(queries.count * 100)),\"qps\":\(Int(Double(queries.count) / took))}")
  }
  // Every vector read (exact): what `.automatic` takes below `VectorIndex.exhaustiveItemsPerBeam` x ef.
  for q in queries.prefix(50) { _ = index.search(q, k: 100, ef: 100, method: .exhaustive) }
  let scanStart = timer.now
  for q in queries { _ = index.search(q, k: 100, ef: 100, method: .exhaustive) }
  let scanSeconds = seconds(timer.now - scanStart)
  print("{\"channel\":\"exhaustive_scan\",\"queries\":\(queries.count),\"recall_at_100\":1,\"qps\":\(Int(Double(queries.count) / scanSeconds)),\"items_per_beam_automatic\":\(VectorIndex.exhaustiveItemsPerBeam)}")
  exit(0)
}

/// `--zipf-text VOCABULARY`: text of a real catalog's shape on top of the demo titles: 30 description
/// words per item drawn from VOCABULARY words by Zipf's law (s = 1), so a few terms have long posting
/// lists and most are rare, as in real titles and descriptions; the text queries are then made of
/// words of chosen ranks, common to rare. The demo vocabulary alone has 248 words.
let zipfVocabulary = argument("--zipf-text", 0)
/// The word of Zipf rank `rank` (letters only, so the tokenizer keeps it whole).
func zipfWord(_ rank: Int) -> String {
  var n = rank, word = "q"
  repeat {
    word.append(Character(UnicodeScalar(UInt8(97 + n % 26))))
    n /= 26
  } while n > 0
  return word
}
/// The text queries: words of chosen Zipf ranks with `--zipf-text`, else shoppers' queries of the demo vocabulary.
let textQueries = zipfVocabulary > 0
  ? [[5], [40], [300], [2_000], [15_000], [5, 300], [40, 2_000], [300, 15_000], [5, 40, 300], [2_000, 15_000],
     [40, 300, 2_000], [100, 1_000, 10_000]].map { $0.map { zipfWord(min($0, zipfVocabulary - 1)) }.joined(separator: " ") }
  : ["mug", "ceramic mug", "espresso machine", "oak table lamp", "yoga mat", "red scarf", "board game",
     "stainless steel frying pan", "notebook", "linen cushion cover", "travel mug black", "walnut"]

/// One text query's latency line: p50/p99 in µs of exhaustive scoring and of block-max pruning over
/// `rounds` alternating rounds, the postings read, and whether both found the same top k (documents,
/// ties by doc id; scores equal up to float rounding of their sums).
func textLatency(_ query: String, index: TextIndex, k: Int, rounds: Int) -> String {
  let terms = Tokenizer.tokens(query)
  let timer = ContinuousClock()
  var exhaustive: [Double] = [], pruned: [Double] = []
  var both: ([(DocID, Float)], [(DocID, Float)]) = ([], [])
  for _ in 0..<rounds {
    var start = timer.now
    both.0 = TextRecall.exhaustiveTop(terms: terms, index: index, k: k)
    exhaustive.append(micros(timer.now - start))
    start = timer.now
    both.1 = TextRecall.top(terms: terms, index: index, k: k)
    pruned.append(micros(timer.now - start))
  }
  exhaustive.sort()
  pruned.sort()
  let same = both.0.count == both.1.count
    && zip(both.0, both.1).allSatisfy { abs($0.1 - $1.1) <= 1e-5 * max(1, $0.1) }
    && Set(both.0.map(\.0)) == Set(both.1.map(\.0))
  let postings = Set(terms).compactMap { index.termID($0) }.reduce(0) { $0 + index.documentFrequency($1) }
  func f(_ v: Double) -> String { String(format: "%.1f", v) }
  return "{\"text_query\":\"\(query)\",\"k\":\(k),\"hits\":\(both.0.count),\"postings\":\(postings),"
    + "\"p50_us\":\(f(exhaustive[rounds / 2])),\"p99_us\":\(f(exhaustive[rounds * 99 / 100])),"
    + "\"pruned_p50_us\":\(f(pruned[rounds / 2])),\"pruned_p99_us\":\(f(pruned[rounds * 99 / 100])),\"same_top\":\(same)}"
}

/// `--read CATALOG.jsonl EVENTS.jsonl`: where reading a build's inputs goes: parsing alone (each line
/// to a `CatalogItem` or `BehaviourEvent`), then parsing and folding into a `GenerationAccumulator`,
/// in seconds and lines per second, for the catalog and the events apart; the folding once on one
/// thread and once as `funnel index build` reads (`--workers N` parsing threads, default one per core).
if CommandLine.arguments.contains("--read") {
  let i = CommandLine.arguments.firstIndex(of: "--read")!
  let (catalog, events) = (CommandLine.arguments[i + 1], CommandLine.arguments[i + 2])
  let timer = ContinuousClock()
  func report(_ what: String, _ lines: Int, _ start: ContinuousClock.Instant) {
    let s = seconds(timer.now - start)
    print("{\"step\":\"\(what)\",\"lines\":\(lines),\"seconds\":\(String(format: "%.2f", s)),\"lines_per_second\":\(Int(Double(lines) / s))}")
  }
  var start = timer.now
  var n = 0
  _ = try JSONLines.forEachItemBatch(path: catalog) { n += $0.count }
  report("parse catalog", n, start)
  start = timer.now
  n = 0
  _ = try JSONLines.forEachEventBatch(path: events) { n += $0.count }
  report("parse events", n, start)
  let workers = argument("--workers", JSONLines.defaultWorkers)
  for parallel in [false, true] {
    // One thread: parsed and folded item by item; parallel: as `funnel index build` reads.
    var accumulator = GenerationAccumulator(nowMs: 1_790_000_000_000)
    let suffix = parallel ? " (\(workers) threads)" : " (1 thread)"
    start = timer.now
    n = 0
    _ = try JSONLines.forEachItemBatch(path: catalog, workers: parallel ? workers : 1) { batch in
      try accumulator.add(contentsOf: batch, parallel: parallel)
      n += batch.count
    }
    report("parse and add catalog" + suffix, n, start)
    start = timer.now
    n = 0
    _ = try JSONLines.forEachEventBatch(path: events, workers: parallel ? workers : 1) { batch in
      for event in batch { accumulator.add(event) }
      n += batch.count
    }
    report("parse and add events" + suffix, n, start)
  }
  exit(0)
}

/// `--text-on DIR [--k K] [--rounds R]`: only BM25 text recall, on the newest generation already under
/// DIR (e.g. the end-to-end benchmark's 1M-item index): per query p50/p99 of the exhaustive loop and of
/// block-max pruning, measured in alternating rounds, and whether their top k agree.
if CommandLine.arguments.contains("--text-on") {
  let directory = stringArgument("--text-on", "")
  guard let newest = GenerationDirectory.newest(under: directory) else {
    FileHandle.standardError.write(Data("no generation under '\(directory)'\n".utf8))
    exit(66)
  }
  let opened = try IndexGeneration.open(directory: newest, verifyChecksums: false)
  let (k, rounds) = (argument("--k", 1_000), argument("--rounds", 200))
  let only = stringArgument("--query", "")  // one query instead of the list
  for query in only.isEmpty ? textQueries : [only] { print(textLatency(query, index: opened.text, k: k, rounds: rounds)) }
  exit(0)
}

let itemCount = argument("--items", 1_000_000)
let userCount = argument("--users", 100_000)
let queries = argument("--queries", 2_000)
let root = stringArgument("--dir", NSTemporaryDirectory() + "funnel-bench-index")
let clock = ContinuousClock()

var t = clock.now
var configuration = DemoStore.Configuration.standard(endTimeMs: 1_790_000_000_000)
configuration.itemCount = itemCount
configuration.userCount = userCount
let demo = DemoStore(configuration)
let withoutVectors = CommandLine.arguments.contains("--no-vectors")
var textRng = SplitMix64(seed: 61)
let items = demo.items.map { item -> CatalogItem in
  var plain = item
  if withoutVectors { plain.embedding = [] }
  if zipfVocabulary > 0 { plain.tags = (0..<30).map { _ in zipfWord(textRng.zipfIndex(zipfVocabulary, s: 1.0)) } }
  return plain
}
let store = (items: items, events: demo.events)
print("{\"stage\":\"generate\",\"items\":\(store.items.count),\"events\":\(store.events.count),\"seconds\":\(seconds(clock.now - t))}")

t = clock.now
let built = GenerationBuilder().build(items: store.items, events: store.events, nowMs: configuration.endTimeMs,
                                      version: GenerationDirectory.newName(nowMs: configuration.endTimeMs))
let buildSeconds = seconds(clock.now - t)
try? FileManager.default.removeItem(atPath: root)
let path = try built.write(under: root)
let totalSeconds = seconds(clock.now - t)
let bytes = built.manifest.files.reduce(0) { $0 + $1.bytes }
print("{\"stage\":\"build\",\"seconds\":\(totalSeconds),\"build_seconds\":\(buildSeconds),\"items_per_second\":\(Int(Double(itemCount) / totalSeconds)),\"bytes\":\(bytes),\"files\":{\(built.manifest.files.map { "\"\($0.name)\":\($0.bytes)" }.joined(separator: ","))}}")

t = clock.now
let generation = try IndexGeneration.open(directory: path, verifyChecksums: false)
let openFast = clock.now - t
t = clock.now
_ = try IndexGeneration.open(directory: path, verifyChecksums: true)
let openVerified = clock.now - t
print("{\"stage\":\"open\",\"ms\":\(micros(openFast) / 1000),\"verified_ms\":\(micros(openVerified) / 1000)}")

var rng = SplitMix64(seed: 99)
let words = textQueries
let filters = ["category:kitchen AND price:[5 TO 30]", "brand:\"Nordhem\" OR tag:oak", "category:\"home/lighting\" AND NOT tag:black",
               "in_stock:true AND price:<10"].map { try! CompiledFilter(FilterParser.parse($0)!, generation: generation) }

@MainActor func report(_ name: String, _ samples: [Double], candidates: Int) {
  let s = samples.sorted()
  let p = { (q: Double) in s[min(s.count - 1, Int(Double(s.count) * q))] }
  print("{\"channel\":\"\(name)\",\"queries\":\(s.count),\"p50_us\":\(Int(p(0.5))),\"p99_us\":\(Int(p(0.99))),\"mean_candidates\":\(candidates / max(1, s.count))}")
}

@MainActor func measure(_ name: String, quota: Int, _ make: (inout SplitMix64) -> (RecallRequest, [(any RecallChannel, Int)])) {
  var samples: [Double] = []
  var candidates = 0
  for _ in 0..<queries {
    let (request, channels) = make(&rng)
    let start = clock.now
    var collector = CandidateCollector(capacity: quota)
    for (channel, q) in channels { channel.recall(request, in: generation, quota: q, into: &collector) }
    samples.append(micros(clock.now - start))
    candidates += collector.candidates.count
  }
  report(name, samples, candidates: candidates)
}

@MainActor func randomSeeds(_ rng: inout SplitMix64) -> [(doc: DocID, weight: Float)] {
  (0..<10).map { i in (doc: DocID(Int(rng.next() % UInt64(itemCount))), weight: 1 / Float(i + 1)) }
}
@MainActor func randomCategories(_ rng: inout SplitMix64) -> [(category: UInt32, weight: Float)] {
  (0..<4).map { _ in (category: generation.items.leafCategory(DocID(Int(rng.next() % UInt64(itemCount)))), weight: 0.25) }
}

measure("popular", quota: 200) { _ in (RecallRequest(), [(PopularRecall(), 200)]) }
measure("category", quota: 300) { rng in (RecallRequest(categoryAffinity: randomCategories(&rng)), [(CategoryRecall(), 300)]) }
measure("similar", quota: 300) { rng in (RecallRequest(seeds: randomSeeds(&rng)), [(SimilarItemsRecall(), 300)]) }
measure("text", quota: 100) { rng in
  (RecallRequest(queryTerms: Tokenizer.tokens(words[Int(rng.next() % UInt64(words.count))])), [(TextRecall(), 100)])
}
measure("text_exhaustive", quota: 100) { rng in  // "text" is the default, block-max pruning
  (RecallRequest(queryTerms: Tokenizer.tokens(words[Int(rng.next() % UInt64(words.count))])),
   [(TextRecall(strategy: .exhaustive), 100)])
}
measure("vector", quota: 200) { rng in (RecallRequest(seeds: randomSeeds(&rng)), [(VectorRecall(), 200)]) }
measure("rule", quota: 200) { rng in (RecallRequest(), [(RuleRecall(filter: filters[Int(rng.next() % 4)]), 200)]) }
measure("multi_channel_1000", quota: 1_000) { rng in
  (RecallRequest(seeds: randomSeeds(&rng), categoryAffinity: randomCategories(&rng)),
   [(SimilarItemsRecall(), 400), (CategoryRecall(), 400), (PopularRecall(), 400)])
}

let redisURL: String? = CommandLine.arguments.contains("--redis") ? stringArgument("--redis", "") : nil
try await subQueryCacheBenchmark(generation: generation, redisURL: redisURL)

// MARK: Peer exports (--export DIR): the same corpus, queries and bitmaps for Benchmarks/peers/compare.py.

@MainActor func bitmapOperations(export directory: String?) throws {
  let keys = [("category", "kitchen"), ("category", "home"), ("brand", "Nordhem"), ("tag", "oak"),
              ("tag", "black"), ("in_stock", "true"), ("category", "mugs"), ("brand", "Stride")]
  let bitmaps = try keys.map { try generation.keywords.documents($0.0, $0.1) }
  if let directory {
    for (i, b) in bitmaps.enumerated() {
      try Data(b.portableBytes).write(to: URL(fileURLWithPath: "\(directory)/bitmap-\(i).roaring"))
    }
  }
  // Each operation: intersection, union and difference of every ordered pair, with the result's count.
  var samples: [Double] = []
  var checksum = 0
  for _ in 0..<20 {
    for a in bitmaps.indices {
      for b in bitmaps.indices where a != b {
        let start = clock.now
        checksum &+= bitmaps[a].intersection(bitmaps[b]).count
        checksum &+= bitmaps[a].union(bitmaps[b]).count
        checksum &+= bitmaps[a].subtracting(bitmaps[b]).count
        samples.append(micros(clock.now - start))
      }
    }
  }
  let s = samples.sorted()
  print("{\"channel\":\"bitmap_and_or_andnot\",\"rounds\":\(s.count),\"p50_us\":\(s[s.count / 2]),\"p99_us\":\(s[s.count * 99 / 100]),\"checksum\":\(checksum)}")
}

/// ANN quality and speed: recall@100 of HNSW (ef 200) against exact search, and queries per second.
@MainActor func vectorSearchQuality() {
  guard let vectors = generation.vectors else { return }
  var rng = SplitMix64(seed: 17)
  let queries = (0..<200).map { _ in vectors.vector(DocID(Int(rng.next() % UInt64(itemCount)))).map { $0 + Float(rng.unit() * 0.2 - 0.1) } }
  var found = 0
  let start = clock.now
  var results: [[DocID]] = []
  for q in queries { results.append(vectors.search(q, k: 100, ef: 200, method: .graph).map(\.0)) }
  let seconds = seconds(clock.now - start)
  for (q, got) in zip(queries, results) {
    let exact = Set(vectors.exactSearch(q, k: 100).map(\.0))
    found += got.filter { exact.contains($0) }.count
  }
  print("{\"channel\":\"hnsw_search\",\"queries\":\(queries.count),\"recall_at_100\":\(Double(found) / Double(queries.count * 100)),\"qps\":\(Int(Double(queries.count) / seconds))}")
}
vectorSearchQuality()

let exportDirectory: String? = CommandLine.arguments.contains("--export") ? stringArgument("--export", "") : nil
if let exportDirectory {
  try FileManager.default.createDirectory(atPath: exportDirectory, withIntermediateDirectories: true)
  try JSONLines.writeCatalog(store.items, to: exportDirectory + "/items.jsonl")
  try words.joined(separator: "\n").write(toFile: exportDirectory + "/queries.txt", atomically: true, encoding: .utf8)
  if let vectors = generation.vectors {
    // Raw little-endian f32, items x dimension, for hnswlib (the same unit vectors the index holds).
    var raw: [Float] = []
    raw.reserveCapacity(vectors.count * vectors.dimension)
    for d in 0..<vectors.count { raw += vectors.vector(DocID(d)) }
    try raw.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: exportDirectory + "/vectors.f32")) }
  }
}
try bitmapOperations(export: exportDirectory)

// Per-query text latency for the peers' comparison: `Benchmarks/peers/run.sh` runs `--text-on` on this
// generation in a fresh process, as a server opens one (this process holds the whole demo store).
