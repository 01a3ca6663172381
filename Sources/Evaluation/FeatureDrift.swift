import Foundation

/// How far each model input moved between two samples of served lists (the training slice and the
/// held-out slice, or last week and today): the population stability index over ten bins cut at the
/// reference sample's deciles, with missing values as a bin of their own.
/// PSI = sum over bins of (actual - expected) x ln(actual / expected); below 0.1 stable, 0.1...0.25
/// moderate, above 0.25 major. Pure; O(rows x features + features x rows log rows).
public enum FeatureDrift {
  /// One input's drift.
  public struct Entry: Hashable, Sendable {
    /// The input's name.
    public var feature: String
    /// The index; 0 for identical distributions.
    public var psi: Double
    /// Share of missing values in the reference and in the sample.
    public var missingBefore: Double
    /// See `missingBefore`.
    public var missingAfter: Double
    /// `stable`, `moderate` or `major`.
    public var level: String { psi < 0.1 ? "stable" : psi < 0.25 ? "moderate" : "major" }
  }

  /// Drift of every name in `names` from `reference` to `sample` (each an array of rows in `names`
  /// order), largest first. Empty samples give PSI 0.
  public static func report(names: [String], reference: [[Float]], sample: [[Float]]) -> [Entry] {
    names.indices.map { c in
      let before = reference.map { c < $0.count ? $0[c] : .nan }
      let after = sample.map { c < $0.count ? $0[c] : .nan }
      let present = before.filter(\.isFinite).sorted()
      // Decile edges of the reference (distinct, so a constant input is one bin).
      var edges: [Float] = []
      if !present.isEmpty {
        for q in 1..<10 {
          let edge = present[min(present.count - 1, q * present.count / 10)]
          if edges.last != edge { edges.append(edge) }
        }
      }
      func shares(_ values: [Float]) -> [Double] {
        var counts = [Double](repeating: 0, count: edges.count + 2)
        for v in values {
          guard v.isFinite else { counts[edges.count + 1] += 1; continue }
          var lo = 0, hi = edges.count
          while lo < hi { let mid = (lo + hi) / 2; if v < edges[mid] { hi = mid } else { lo = mid + 1 } }
          counts[lo] += 1
        }
        let n = Double(max(values.count, 1))
        return counts.map { $0 / n }
      }
      let (e, a) = (shares(before), shares(after))
      var psi = 0.0
      if !before.isEmpty, !after.isEmpty {
        for (x, y) in zip(e, a) where x > 0 || y > 0 {
          let (ex, ay) = (max(x, 1e-4), max(y, 1e-4))
          psi += (ay - ex) * log(ay / ex)
        }
      }
      return Entry(feature: names[c], psi: psi, missingBefore: e.last ?? 0, missingAfter: a.last ?? 0)
    }.sorted { $0.psi != $1.psi ? $0.psi > $1.psi : $0.feature < $1.feature }
  }

  /// The rows of `lists` with their values mapped to `names`, every `stride`-th row (to bound the
  /// work on large logs).
  public static func rows(of lists: [LabelledList], names: [String], limit: Int = 200_000) -> [[Float]] {
    let total = lists.reduce(0) { $0 + $1.items.count }
    let stride = max(1, total / max(1, limit))
    var out: [[Float]] = []
    var n = 0
    for list in lists {
      let columns = names.map { list.featureNames.firstIndex(of: $0) }
      for row in list.features {
        defer { n += 1 }
        guard n % stride == 0 else { continue }
        out.append(columns.map { c in c.map { $0 < row.count ? row[$0] : .nan } ?? .nan })
      }
    }
    return out
  }
}
