import FunnelCore
import IndexFormat
import MappedStorage
import TextAnalysis
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A generation built from streams: items and events are added one at a time and folded at once
/// into compact per-file accumulators (string columns, posting lists, keyword doc lists, numeric
/// columns; 12 bytes per event), so no `CatalogItem` or `BehaviourEvent` is kept. `finish` then
/// writes the files one by one into a `GenerationSink`, releasing each accumulator as its file is
/// done. `GenerationBuilder.build` is this over arrays; `funnel index build` streams files through it.
///
/// Memory is O(postings + keyword postings + events + items x stored bytes), a fraction of the
/// inputs' JSON. Events about items not (yet) added are skipped and counted. Not thread-safe.
public struct GenerationAccumulator: Sendable {
  /// Build options.
  public let options: GenerationBuilder.Options
  /// The build time (Unix ms); events decay to it.
  public let nowMs: Int64
  /// The text and keyword indexes (written from each item's text, apart from the rest so the two
  /// can fold a batch at once).
  private var search: SearchWriters
  /// The item table, attributes, suggestions, ids, category paths and embeddings.
  private var catalog: CatalogWriters
  private var popularity: [Float] = []
  private var trend: [Float] = []
  private var userNumber: [UserID: UInt32] = [:]
  private var userNames: [UserID] = []
  /// Events with a positive weight about known items, in input order.
  private var eventUser: [UInt32] = [], eventDoc: [UInt32] = [], eventWeight: [Float] = [], eventAge: [UInt32] = []
  private var eventCount = 0
  private var skipped = 0
  private let decay: Decay

  /// An empty build as of `nowMs` (Unix ms).
  public init(options: GenerationBuilder.Options = .init(), nowMs: Int64) {
    self.options = options
    self.nowMs = nowMs
    search = SearchWriters(options)
    catalog = CatalogWriters(options)
    decay = Decay(nowMs: nowMs, popularityPerMs: log(2) / (options.popularityHalfLifeHours * 3_600_000),
                  trendPerMs: log(2) / (options.trendingHalfLifeHours * 3_600_000))
  }

  /// Items added so far.
  public var itemCount: Int { catalog.items.count }

  /// Adds `item` as the next doc. Throws `.invalidArgument` for an id already added (and adds
  /// nothing). Amortised O(item size).
  public mutating func add(_ item: CatalogItem) throws {
    try catalog.add(item)
    search.add(item)
  }

  /// Adds `batch` as the next docs, in order, as `add` one at a time would, folding on two threads
  /// when `parallel` (the text and keyword indexes on one, everything else on the other; the calling
  /// thread is one of them and blocks meanwhile). Throws `.invalidArgument` for an id already added;
  /// after that the accumulator is incomplete and must be dropped. O(batch size).
  public mutating func add(contentsOf batch: [CatalogItem], parallel: Bool = true) throws {
    guard parallel, batch.count > 1 else {
      for item in batch { try add(item) }
      return
    }
    var movedSearch = SearchWriters(options), movedCatalog = CatalogWriters(options)
    swap(&movedSearch, &search)
    swap(&movedCatalog, &catalog)
    (search, catalog) = try ForkJoin.pair(consume movedSearch, consume movedCatalog, { writers in
      for item in batch { writers.add(item) }
    }, { writers in
      for item in batch { try writers.add(item) }
    })
  }

  /// Adds a behaviour event: popularity, trending and the user's history for ItemCF. O(1).
  public mutating func add(_ event: BehaviourEvent) {
    eventCount += 1
    guard let doc = catalog.docByID[event.itemID] else {
      skipped += 1
      return
    }
    guard let weighed = decay.weigh(event) else { return }
    fold(weighed, doc: doc.rawValue, user: number(event.userID))
  }

  /// Adds `batch` in order, as `add` one at a time would (the same numbers, users and histories).
  /// The lookups and weights (the costly part: hashing two ids, two decays) are made on two threads
  /// first, reading the tables as they were before the batch (the calling thread is one of them and
  /// blocks meanwhile); only users new to those tables are looked up again in the serial pass that
  /// folds them in. O(batch size).
  public mutating func add(contentsOf batch: [BehaviourEvent]) {
    guard batch.count > 1 else {
      for event in batch { add(event) }
      return
    }
    let resolved = Self.resolve(batch, docByID: catalog.docByID, userNumber: userNumber, decay: decay)
    // By index: an event is read again (its id hashed) only for a user new before the batch.
    for (i, found) in resolved.enumerated() {
      eventCount += 1
      guard found.doc != Resolved.unknown else {
        skipped += 1
        continue
      }
      guard let weighed = found.weighed else { continue }
      fold(weighed, doc: found.doc, user: found.user != Resolved.unknown ? found.user : number(batch[i].userID))
    }
  }

  /// An event's doc and user numbers (`unknown` when the tables lacked them) and weights.
  private struct Resolved: Sendable {
    static let unknown = UInt32.max
    var doc = unknown, user = unknown
    var weighed: Weighed?
  }

  /// An event's weights as of `nowMs`.
  private struct Weighed: Sendable {
    /// The interest weight decayed with the popularity half-life, and with the trending one.
    var decayed: Float, trending: Float
    /// The age in whole seconds.
    var ageSeconds: UInt32
  }

  /// How events' weights decay to the build time.
  private struct Decay: Sendable {
    let nowMs: Int64
    let popularityPerMs: Double, trendPerMs: Double

    /// The weights of `event`, nil when its kind carries no interest (it is counted, not folded).
    func weigh(_ event: BehaviourEvent) -> Weighed? {
      let weight = event.kind.interestWeight
      guard weight > 0 else { return nil }
      let age = Double(max(0, nowMs - event.timestampMs))
      return Weighed(decayed: weight * Float(exp(-popularityPerMs * age)), trending: weight * Float(exp(-trendPerMs * age)),
                     ageSeconds: UInt32(clamping: Int64(age / 1_000)))
    }
  }

  /// The lookups and weights of `batch`, on two threads over its halves. The tables are parameters
  /// (not read through `self`) so that no second reference to them is left when the caller next
  /// mutates them.
  private static func resolve(_ batch: [BehaviourEvent], docByID: [ItemID: DocID], userNumber: [UserID: UInt32],
                              decay: Decay) -> [Resolved] {
    ForkJoin.shares(batch.count, 2) { range in
      batch[range].map { event -> Resolved in
        guard let doc = docByID[event.itemID] else { return Resolved() }
        guard let weighed = decay.weigh(event) else { return Resolved(doc: doc.rawValue) }
        return Resolved(doc: doc.rawValue, user: userNumber[event.userID] ?? Resolved.unknown, weighed: weighed)
      }
    }.flatMap { $0 }
  }

  /// The number of the user `id`; a user not numbered yet gets the next number. O(1).
  private mutating func number(_ id: UserID) -> UInt32 {
    if let known = userNumber[id] { return known }
    let user = UInt32(userNames.count)
    userNumber[id] = user
    userNames.append(id)
    return user
  }

  /// Folds one weighed event about `doc` by `user`. O(1).
  private mutating func fold(_ weighed: Weighed, doc: UInt32, user: UInt32) {
    if popularity.count < catalog.items.count {
      popularity += [Float](repeating: 0, count: catalog.items.count - popularity.count)
      trend += [Float](repeating: 0, count: catalog.items.count - trend.count)
    }
    popularity[Int(doc)] += weighed.decayed
    trend[Int(doc)] += weighed.trending
    eventUser.append(user)
    eventDoc.append(doc)
    eventWeight.append(weighed.decayed)
    eventAge.append(weighed.ageSeconds)
  }

  /// Writes every file of the generation named `version` into `sink` and returns the manifest.
  /// Consumes the accumulated state (the accumulator is empty afterwards).
  /// Cost: O(events + users x window^2 + postings + items log items).
  public mutating func finish<Sink: GenerationSink>(version: String, sources: [GenerationManifest.SourceEntry] = [],
                                                   into sink: inout Sink) throws -> GenerationManifest {
    let count = catalog.items.count
    if popularity.count < count {
      popularity += [Float](repeating: 0, count: count - popularity.count)
      trend += [Float](repeating: 0, count: count - trend.count)
    }
    var entries: [String: GenerationManifest.FileEntry] = [:]
    let (pathKeys, docPath) = catalog.items.categoryKeyNumbers()
    let categoryCount = catalog.items.categoryKeys.count
    let keyNumber = Dictionary(uniqueKeysWithValues: catalog.items.categoryKeys.enumerated().map { ($0.element, UInt32($0.offset)) })
    // Suggestions vote on the item table's path numbers; the keys are numbered only now.
    if let file = catalog.suggestions.finish(leafKey: { [pathNames = catalog.items.categoryPaths] path in
      IndexGeneration.categoryPrefixes(pathNames[Int(path)]).last.flatMap { keyNumber[$0] } ?? ItemTable.noParent
    }) {
      entries[SuggestionTable.fileName] = try sink.put(SuggestionTable.fileName, file)
    }
    catalog.suggestions = SuggestionTable.Writer(analyzer: options.textAnalyzer)
    entries["items.fnl"] = try sink.put("items.fnl", catalog.items.finish())
    catalog.items = ItemTable.Writer()
    let factorRows = options.factors.map { Self.itemFactorRows($0, docByID: catalog.docByID, count: count) }
    catalog.docByID = [:]
    let (textFile, termCount) = search.text.finish()
    entries["text.fnl"] = try sink.put("text.fnl", textFile)
    search.text = TextIndex.Writer(analyzer: options.textAnalyzer)
    let (keywordFile, keywordCount) = search.keywords.finish()
    entries["keywords.fnl"] = try sink.put("keywords.fnl", keywordFile)
    search.keywords = KeywordIndex.Writer()
    if let file = catalog.attributes.finish() { entries[AttributeColumns.fileName] = try sink.put(AttributeColumns.fileName, file) }
    if let synonyms = options.synonyms { entries[SynonymMap.fileName] = try sink.put(SynonymMap.fileName, bytes: Array(synonyms.utf8)) }
    catalog.attributes = AttributeColumns.Writer()

    HeapTuning.returnFreedMemory()  // the catalog's writers are gone: their heap pages go back
    let histories = UserHistories(users: userNames, eventUser: &eventUser, eventDoc: &eventDoc, eventWeight: &eventWeight,
                                  eventAge: &eventAge)
    (userNumber, userNames) = ([:], [])  // the event arrays were emptied by the grouping
    HeapTuning.returnFreedMemory()
    // The behaviour tables are independent jobs that only read the histories, run on both cores
    // (each thread takes the next job, longest first); each puts its file into the sink as soon as
    // it is made (under a lock), so no finished file waits in memory for another.
    let options = options
    let shared = Mutex<(sink: Sink, entries: [GenerationManifest.FileEntry], neighbourCount: Int)>((sink, [], 0))
    @Sendable func put(_ name: String, _ file: PendingFile) throws {
      try shared.withLock { $0.entries.append(try $0.sink.put(name, file)) }
    }
    @Sendable func index(_ name: String, _ vectors: [[Float]], dimension: Int) throws {
      var hnsw = HNSWBuilder(dimension: dimension, m: options.hnswM, efConstruction: options.hnswEfConstruction)
      hnsw.build(vectors)
      let bytes = hnsw.file()
      try shared.withLock { $0.entries.append(try $0.sink.put(name, bytes: bytes)) }
    }
    var jobs: [@Sendable () throws -> Void] = []
    // The vector indexes first when there are any: an HNSW build is the longest job.
    if let vectors = catalog.embeddings, vectors.count == count, let dimension = vectors.first?.count {
      jobs.append { try index(VectorIndex.fileName, vectors, dimension: dimension) }
    }
    catalog.embeddings = []
    if let factorRows, let factors = options.factors {
      jobs.append { try index(IndexGeneration.factorsFileName, factorRows.vectors, dimension: factors.dimension + 1) }
    }
    if options.userCFListLength > 0 || options.factors != nil {
      jobs.append {
        let cfLists = options.userCFListLength > 0
          ? UserCF(itemsPerUser: options.historyWindow, usersPerItem: options.userCFUsersPerItem, neighbourUsers: options.userCFNeighbours,
                   listLength: options.userCFListLength).lists(histories, itemCount: count)
          : []
        guard options.factors != nil || cfLists.contains(where: { !$0.isEmpty }) else { return }
        try put(UserTable.fileName, Self.userTable(users: histories.users, lists: cfLists, factors: options.factors,
                                                   itemScale: factorRows?.scale ?? 0))
      }
    }
    jobs.append {
      let neighbours = ItemCF(window: options.historyWindow, neighboursPerItem: options.neighboursPerItem)
        .rows(histories, itemCount: count)
      shared.withLock { $0.neighbourCount = neighbours.docs.count }
      try put("neighbours.fnl", NeighbourTable.file(offsets: neighbours.offsets, neighbours: neighbours.docs, scores: neighbours.scores))
    }
    if options.sessionItems > 1, !histories.docs.isEmpty {
      jobs.append {
        let sessions = SessionCooccurrence(gapSeconds: options.sessionGapSeconds, pairDecaySeconds: options.sessionPairDecaySeconds,
                                           halfLifeDays: options.sessionHalfLifeDays, maxItems: options.sessionItems,
                                           neighboursPerItem: options.neighboursPerItem).rows(histories, itemCount: count)
        try put(IndexGeneration.sessionsFileName, sessions.file())
      }
    }
    if options.swingUsersPerItem > 1, !histories.docs.isEmpty {
      jobs.append {
        let swing = Swing(usersPerItem: options.swingUsersPerItem, itemsPerUser: options.historyWindow,
                          neighboursPerItem: options.neighboursPerItem).rows(histories, itemCount: count)
        try put(IndexGeneration.swingFileName, swing.file())
      }
    }
    jobs.append { [popularity, trend] in
      try put("popularity.fnl", Self.popularityFile(popularity: popularity, trend: trend, pathKeys: pathKeys, docPath: docPath,
                                                    categoryCount: categoryCount, options: options))
    }
    try ForkJoin.run(jobs)
    let neighbourCount: Int
    (sink, neighbourCount) = shared.withLock { ($0.sink, $0.neighbourCount) }
    for entry in shared.withLock({ $0.entries }) { entries[entry.name] = entry }

    let fileNames = IndexGeneration.fileNames + IndexGeneration.optionalFileNames.filter { entries[$0] != nil }
    var manifest = GenerationManifest(
      formatVersion: GenerationManifest.currentFormatVersion, version: version, builtAtMs: nowMs,
      itemCount: count, eventCount: eventCount, skippedEvents: skipped,
      termCount: termCount, keywordCount: keywordCount, categoryCount: categoryCount,
      neighbourCount: neighbourCount, files: fileNames.map { entries[$0]! }, sources: sources)
    manifest.textAnalysis = options.textAnalyzer == .plain ? nil : options.textAnalyzer.name
    manifest.searchFields = options.searchFields == .uniform ? nil : options.searchFields.description
    return manifest
  }

  /// The popularity file: decayed popularity per doc (best = 1), the global and per-category top
  /// lists, and the same for trending. Category key `k` is list `1 + k`.
  private static func popularityFile(popularity: [Float], trend: [Float], pathKeys: [[UInt32]], docPath: [UInt32],
                                     categoryCount: Int, options: GenerationBuilder.Options) -> PendingFile {
    var byCategory = [[(DocID, Float)]](repeating: [], count: categoryCount)
    var trendByCategory = [[(DocID, Float)]](repeating: [], count: categoryCount)
    for d in popularity.indices {
      for k in pathKeys[Int(docPath[d])] {
        if popularity[d] > 0 { byCategory[Int(k)].append((DocID(d), popularity[d])) }
        if trend[d] > 0 { trendByCategory[Int(k)].append((DocID(d), trend[d])) }
      }
    }
    let global = Self.ranked(popularity.enumerated().map { (DocID($0.offset), $0.element) }, limit: options.popularListLength)
    let lists = [global] + byCategory.map { Self.ranked($0, limit: options.categoryListLength) }
    let trending = [Self.ranked(trend.enumerated().map { (DocID($0.offset), $0.element) }, limit: options.categoryListLength)]
      + trendByCategory.map { Self.ranked($0, limit: options.categoryListLength / 2) }
    let top = max(popularity.max() ?? 0, .leastNormalMagnitude)
    return PopularityTable.file(itemPopularity: popularity.map { $0 / top }, lists: lists, trending: trending)
  }

  /// Item factors in doc order, made unit vectors for inner-product search: each is divided by the
  /// largest norm (`scale`) and given one more coordinate, `sqrt(1 - |v|^2)`. An item the factors do
  /// not know gets `[0, ..., 0, 1]`, orthogonal to every user query `[u, 0]`.
  static func itemFactorRows(_ factors: LearnedFactors, docByID: [ItemID: DocID], count: Int) -> (vectors: [[Float]], scale: Float) {
    var raw = [[Float]?](repeating: nil, count: count)
    for (id, vector) in factors.items { if let doc = docByID[id] { raw[doc.index] = vector } }
    let scale = max(raw.lazy.compactMap { $0 }.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }.max() ?? 1, .leastNormalMagnitude)
    let vectors = raw.map { vector -> [Float] in
      guard let vector else { return [Float](repeating: 0, count: factors.dimension) + [1] }
      let shrunk = vector.map { $0 / scale }
      return shrunk + [max(0, 1 - shrunk.reduce(0) { $0 + $1 * $1 }).squareRoot()]
    }
    return (vectors, scale)
  }

  /// The users file: every user with a CF list or factors, sorted by id.
  static func userTable(users: [UserID], lists: [[(DocID, Float)]], factors: LearnedFactors?, itemScale: Float) -> PendingFile {
    var rows: [(UserID, [(DocID, Float)])] = []
    for (u, id) in users.enumerated() {
      let list = u < lists.count ? lists[u] : []
      if !list.isEmpty || factors?.users[id] != nil { rows.append((id, list)) }
    }
    if let factors {
      let known = Set(users)
      for id in factors.users.keys where !known.contains(id) { rows.append((id, [])) }
    }
    // The ids are distinct, so sorting by their UTF-8 bytes (`StringColumn`'s order) is total.
    rows.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    let dimension = factors?.dimension ?? 0
    var vectors: [Float] = []
    vectors.reserveCapacity(rows.count * dimension)
    for (id, _) in rows { vectors += factors?.users[id] ?? [Float](repeating: 0, count: dimension) }
    return UserTable.file(users: rows.map(\.0), dimension: dimension, itemScale: itemScale, factors: vectors, lists: rows.map(\.1))
  }

  /// Sorts descending (ties by doc id, so builds are deterministic), keeps `limit`, scales the best to 1.
  static func ranked(_ scored: [(DocID, Float)], limit: Int) -> [(DocID, Float)] {
    let sorted = scored.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(limit)
    let top = sorted.first?.1 ?? 1
    return sorted.map { ($0.0, $0.1 / top) }
  }

  /// The writers of the files made from each item's text: the text index and the keyword index.
  private struct SearchWriters: Sendable {
    var text: TextIndex.Writer
    var keywords = KeywordIndex.Writer()
    let fields: SearchFields

    init(_ options: GenerationBuilder.Options) {
      text = TextIndex.Writer(analyzer: options.textAnalyzer)
      fields = options.searchFields
    }

    /// Adds `item` as the next doc of both. O(item text).
    mutating func add(_ item: CatalogItem) {
      text.add(fields: fields.texts(item))
      keywords.add(item)
    }
  }

  /// The rest of the catalog's state: stored items (which number the category paths), attribute
  /// columns, suggestions, the doc of each id, and embeddings.
  private struct CatalogWriters: Sendable {
    var items = ItemTable.Writer(spooled: true)
    var attributes = AttributeColumns.Writer()
    var suggestions: SuggestionTable.Writer
    var docByID: [ItemID: DocID] = [:]
    /// Embeddings while every item so far has one of a single dimension; nil once one does not.
    var embeddings: [[Float]]? = []
    let buildVectors: Bool

    init(_ options: GenerationBuilder.Options) {
      suggestions = SuggestionTable.Writer(analyzer: options.textAnalyzer)
      buildVectors = options.buildVectors
    }

    /// Adds `item` as the next doc. Throws `.invalidArgument` for an id already added (and adds
    /// nothing). Amortised O(item size).
    mutating func add(_ item: CatalogItem) throws {
      let doc = DocID(items.count)
      guard docByID.updateValue(doc, forKey: item.id) == nil else {
        throw FunnelError(.invalidArgument, "item id '\(item.id)' appears twice in the catalog")
      }
      let path = items.add(item)
      attributes.add(item)
      suggestions.add(title: item.title, brand: item.brand, leaf: path)
      if let dimension = embeddings?.first?.count ?? (item.embedding.isEmpty ? nil : item.embedding.count),
         item.embedding.count == dimension, buildVectors {
        embeddings?.append(item.embedding)
      } else {
        embeddings = nil
      }
    }
  }
}
