import FunnelCore
import IndexFormat

/// Recall across a catalog overlay's boundary: the items added since the generation was built have
/// no postings, neighbour lists or HNSW nodes in the mapped files, so they are found here, and a user
/// who looked at an added item gets mapped items by its content and embedding.
///
/// - text: BM25 over the added items (`CatalogOverlay.text`), channel `text`;
/// - content: the seeds' text as a query, mapped seeds over the added items and added seeds over the
///   mapped text index, channel `similar` (the cold start of a new item: no co-occurrence yet);
/// - vector: the seeds' mean embedding over the added items (exact scan) and, for added seeds, over
///   the mapped HNSW graph, channel `vector`.
///
/// The mapped channels run with the mapped seeds only (`mappedSeeds`). Stateless; each part bounded
/// by its quota. Scores are normalised per index (the best of each is 1).
public struct OverlayRecall: Sendable {
  /// Seeds whose text queries the other side (the strongest first): each is one BM25 query.
  public static let contentSeeds = 3

  public init() {}

  /// `request` without the seeds past the mapped docs (the mapped channels index arrays by doc).
  public static func mappedSeeds(_ request: RecallRequest, in generation: IndexGeneration) -> RecallRequest {
    guard let overlay = generation.overlay else { return request }
    var mapped = request
    mapped.seeds.removeAll { $0.doc.index >= overlay.baseCount }
    return mapped
  }

  /// Adds what the overlay contributes for `request` under the text, similar and vector quotas.
  public func recall(_ request: RecallRequest, in generation: IndexGeneration, text: Int, similar: Int, vector: Int,
                     into collector: inout CandidateCollector) {
    // Prices, stock and deletions alone add nothing here: the mapped channels recalled those docs,
    // and a request pays no item decoding or tokenising for them.
    guard let overlay = generation.overlay, !overlay.added.isEmpty else { return }
    let base = UInt32(overlay.baseCount)
    if text > 0, !request.queryTerms.isEmpty, let index = overlay.text {
      let best = TextRecall.exhaustiveTop(terms: request.queryTerms, index: index, k: text)
      let top = best.first?.1 ?? 1
      for (doc, score) in best { collector.add(DocID(rawValue: base + doc.rawValue), channel: .text, score: score / top) }
    }
    if similar > 0 {
      var scores: [DocID: Float] = [:]
      for seed in request.seeds.prefix(Self.contentSeeds) where seed.weight > 0 {
        let added = seed.doc.index >= overlay.baseCount
        guard let index = added ? generation.text : overlay.text else { continue }
        let terms = generation.analyzer.terms(generation.searchFields.text(generation.items.item(seed.doc)))
        let best = TextRecall.exhaustiveTop(terms: terms, index: index, k: similar + 1)
        let top = best.first?.1 ?? 1
        for (doc, score) in best {
          let found = added ? doc : DocID(rawValue: base + doc.rawValue)
          if found != seed.doc { scores[found, default: 0] += seed.weight * score / top }
        }
      }
      for (doc, score) in TopK.best(scores, k: similar) { collector.add(doc, channel: .similar, score: score) }
    }
    // Embeddings of mapped and added items are comparable only at one dimension.
    if vector > 0, overlay.dimension > 0, generation.vectors.map({ $0.dimension == overlay.dimension }) ?? true {
      let seeds = Set(request.seeds.map(\.doc))
      var query: [Float] = []
      var addedSeed = false
      for seed in request.seeds {
        let v: ArraySlice<Float>?
        if seed.doc.index >= overlay.baseCount {
          v = overlay.vector(seed.doc)
          addedSeed = addedSeed || v != nil
        } else if let vectors = generation.vectors {
          v = vectors.vector(seed.doc)[...]
        } else {
          v = nil
        }
        guard let v else { continue }
        if query.isEmpty { query = [Float](repeating: 0, count: v.count) }
        guard v.count == query.count else { continue }
        for (j, x) in v.enumerated() { query[j] += seed.weight * x }
      }
      guard !query.isEmpty else { return }
      for (doc, similarity) in overlay.nearest(query, k: vector + seeds.count) where !seeds.contains(doc) {
        collector.add(doc, channel: .vector, score: max(0, similarity))
      }
      if addedSeed, let vectors = generation.vectors {
        for (doc, similarity) in vectors.search(query, k: vector + seeds.count, ef: max(200, vector)) where !seeds.contains(doc) {
          collector.add(doc, channel: .vector, score: max(0, similarity))
        }
      }
    }
  }
}
