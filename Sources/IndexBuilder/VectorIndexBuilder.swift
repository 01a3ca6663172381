import IndexFormat

/// Builds the vectors file (`VectorIndex`: unit vectors and their HNSW graph) from embeddings, for
/// tools and benchmarks that want the graph without a whole generation. Synchronous; O(n log n * ef).
public enum VectorIndexBuilder {
  /// The serialised file for `vectors` (any length; normalised), node `i` = `vectors[i]`, with `m`
  /// links per node (2m on level 0) chosen from a beam of `efConstruction`. Deterministic.
  public static func file(vectors: [[Float]], m: Int = 16, efConstruction: Int = 100) -> [UInt8] {
    var builder = HNSWBuilder(dimension: vectors.first?.count ?? 0, m: m, efConstruction: efConstruction)
    builder.build(vectors)
    return builder.file()
  }
}
