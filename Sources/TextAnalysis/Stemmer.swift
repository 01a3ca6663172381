import CStemmer
import Synchronization

/// A Snowball stemmer (Debian's libstemmer) for one language. libstemmer's stemmer objects keep
/// per-call state, so each call borrows one from a small pool (a lock held for the borrow, not the
/// stemming; a new one is made when all are busy) and returns it after. Thread-safe.
/// O(length of the word) per call.
public final class Stemmer: Sendable {
  /// The Snowball algorithm's name (`english`, `german`, `porter`, ...).
  public let language: String
  /// Stemmers not in use (their addresses; libstemmer's `sb_stemmer *`). At most `maxIdle` kept.
  private let idle = Mutex<[UInt]>([])
  private static let maxIdle = 16

  /// Words longer than this (in UTF-8 bytes) are returned as they are (no real word is this long).
  public static let maxWordBytes = 64

  /// A stemmer for `language`, or nil when libstemmer has no algorithm of that name.
  public init?(language: String) {
    guard let probe = sb_stemmer_new(language, "UTF_8") else { return nil }
    self.language = language
    idle.withLock { $0.append(UInt(bitPattern: probe)) }
  }

  deinit {
    for address in idle.withLock({ $0 }) {
      if let stemmer = OpaquePointer(bitPattern: address) { sb_stemmer_delete(stemmer) }
    }
  }

  /// The languages libstemmer knows (e.g. `english`, `french`, `porter`).
  public static var languages: [String] {
    var out: [String] = []
    guard var list = sb_stemmer_list() else { return out }
    while let name = list.pointee {
      out.append(String(cString: name))
      list += 1
    }
    return out
  }

  /// The stem of `word` (lower-cased already, as the tokenizer gives it).
  public func stem(_ word: String) -> String {
    let count = word.utf8.count
    guard count > 2, count <= Self.maxWordBytes else { return word }
    let borrowed = idle.withLock { $0.popLast() }.flatMap { OpaquePointer(bitPattern: $0) }
    guard let stemmer = borrowed ?? sb_stemmer_new(language, "UTF_8") else { return word }
    var copy = word
    let stemmed: String = copy.withUTF8 { bytes in
      guard let base = bytes.baseAddress, let out = sb_stemmer_stem(stemmer, base, Int32(bytes.count)) else { return word }
      let length = Int(sb_stemmer_length(stemmer))
      return String(decoding: UnsafeBufferPointer(start: out, count: length), as: UTF8.self)
    }
    let kept = idle.withLock { pool -> Bool in
      guard pool.count < Self.maxIdle else { return false }
      pool.append(UInt(bitPattern: stemmer))
      return true
    }
    if !kept { sb_stemmer_delete(stemmer) }
    return stemmed
  }
}
