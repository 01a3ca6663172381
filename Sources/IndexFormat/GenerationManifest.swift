/// `manifest.json` of a generation: what it holds, how it was built, and the size and checksum of
/// every file (a reader compares sizes at open, and checksums when asked to verify).
public struct GenerationManifest: Codable, Hashable, Sendable {
  /// One file of the generation.
  public struct FileEntry: Codable, Hashable, Sendable {
    public var name: String
    public var bytes: Int
    /// CRC-32C of the whole file, footer included.
    public var crc32c: UInt32

    /// Creates an entry.
    public init(name: String, bytes: Int, crc32c: UInt32) {
      self.name = name
      self.bytes = bytes
      self.crc32c = crc32c
    }
  }

  /// One input the generation was built from.
  public struct SourceEntry: Codable, Hashable, Sendable {
    public var path: String
    public var bytes: Int
    /// CRC-32C of the input's bytes.
    public var crc32c: UInt32

    /// Creates an entry.
    public init(path: String, bytes: Int, crc32c: UInt32) {
      self.path = path
      self.bytes = bytes
      self.crc32c = crc32c
    }
  }

  /// The format of this manifest and its files.
  public static let currentFormatVersion = 1

  public var formatVersion: Int
  /// The generation's name, also its directory name, e.g. `gen-20261122T010203Z-1a2b`.
  public var version: String
  /// Build time, Unix ms.
  public var builtAtMs: Int64
  public var itemCount: Int
  public var eventCount: Int
  public var skippedEvents: Int
  public var termCount: Int
  public var keywordCount: Int
  public var categoryCount: Int
  public var neighbourCount: Int
  public var files: [FileEntry]
  public var sources: [SourceEntry]
  /// The catalog change feed position folded into this generation's catalog (nil: none): replicas
  /// lay only later changes over it.
  public var catalogThrough: String?
  /// The text analysis the text file was built with (`TextAnalyzer.name`; nil: `plain`, as before
  /// analysis existed). Queries are analysed the same way.
  public var textAnalysis: String?
  /// The field weights the text file was built with (`SearchFields.description`; nil: every field
  /// once, as before weights existed).
  public var searchFields: String?

  /// Creates a manifest; see the field comments.
  public init(formatVersion: Int, version: String, builtAtMs: Int64, itemCount: Int, eventCount: Int,
              skippedEvents: Int, termCount: Int, keywordCount: Int, categoryCount: Int, neighbourCount: Int,
              files: [FileEntry], sources: [SourceEntry]) {
    self.formatVersion = formatVersion
    self.version = version
    self.builtAtMs = builtAtMs
    self.itemCount = itemCount
    self.eventCount = eventCount
    self.skippedEvents = skippedEvents
    self.termCount = termCount
    self.keywordCount = keywordCount
    self.categoryCount = categoryCount
    self.neighbourCount = neighbourCount
    self.files = files
    self.sources = sources
  }
}
