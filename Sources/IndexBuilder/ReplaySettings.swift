import Foundation
import FunnelCore

/// `replay.json` in an index directory built from a historical data set (`funnel ingest`): the
/// generations there describe the shop as of `asOfMs`, and `history` (a JSON-lines event file in the
/// same directory) is what the customers had done by then. `funnel serve --index DIR` seeds its
/// in-process real-time store with that history and runs its clock from `asOfMs` (advancing with
/// wall time), so any client sees the recommendations `funnel eval` measured, with no other flag.
public struct ReplaySettings: Codable, Hashable, Sendable {
  /// File name inside the index directory.
  public static let fileName = "replay.json"
  /// The as-of time of the data (Unix ms).
  public var asOfMs: Int64
  /// Event file (JSON lines) inside the index directory.
  public var history: String
  /// Interactions read per request (long wholesale histories need more than the default 100).
  public var recentInteractions: Int

  /// Settings for a replay as of `asOfMs` with history file `history`.
  public init(asOfMs: Int64, history: String = "history.jsonl", recentInteractions: Int = 500) {
    self.asOfMs = asOfMs
    self.history = history
    self.recentInteractions = recentInteractions
  }

  /// The settings of index directory `root`, or nil when it has none. Throws `.invalidArgument`
  /// naming the file when it exists but is not valid.
  public static func load(indexDirectory root: String) throws -> ReplaySettings? {
    let path = root + "/" + fileName
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    do {
      let settings = try JSONDecoder().decode(ReplaySettings.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
      guard (1...1_000).contains(settings.recentInteractions), !settings.history.contains("/") else {
        throw FunnelError(.invalidArgument, "\(path): recentInteractions must be 1...1000 and history a file name")
      }
      return settings
    } catch let error as FunnelError {
      throw error
    } catch {
      throw FunnelError(.invalidArgument, "\(path): not valid replay settings: \(error.localizedDescription)")
    }
  }

  /// Writes the settings into index directory `root`.
  public func write(indexDirectory root: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do { try encoder.encode(self).write(to: URL(fileURLWithPath: root + "/" + Self.fileName)) } catch {
      throw FunnelError(.failedPrecondition, "cannot write \(root)/\(Self.fileName): \(error.localizedDescription)")
    }
  }

  /// A clock in Unix ms that reads `asOfMs` now and advances with `wall` from here on.
  public func clock(wall: @escaping @Sendable () -> Int64) -> @Sendable () -> Int64 {
    let start = wall()
    let asOf = asOfMs
    return { asOf + (wall() - start) }
  }
}
