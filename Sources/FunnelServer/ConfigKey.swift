import FunnelCore
import FunnelJSON

/// One key of `funnel serve`'s configuration: its path (`server.port`), the values it takes (with the
/// range, declared here once) and the `ServerOptions` field it reads and writes. The config file, the
/// `FUNNEL_*` environment variables, `--set` and the named flags all go through these, so a value is
/// checked the same way wherever it comes from. The list is `ConfigKey.all`. Immutable; thread-safe.
public struct ConfigKey: Sendable {
  /// The values a key takes.
  public enum Kind: Sendable, Equatable {
    /// An integer within the range.
    case integer(ClosedRange<Int>)
    /// `true` or `false`.
    case boolean
    /// Any string (`null` in the file leaves it unset).
    case string
    /// One of these strings.
    case choice([String])
  }

  /// A value of a key, as the file, the environment or a flag gave it.
  public enum Value: Sendable, Equatable, CustomStringConvertible {
    case integer(Int), boolean(Bool), string(String), unset

    public var description: String {
      switch self {
      case .integer(let n): return String(n)
      case .boolean(let b): return String(b)
      case .string(let s): return s
      case .unset: return "(unset)"
      }
    }
  }

  /// `section.key`, as in the file.
  public let path: String
  /// What values it takes.
  public let kind: Kind
  let read: @Sendable (ServerOptions) -> Value
  let write: @Sendable (inout ServerOptions, Value) -> Void

  /// The section (`server`) and the key (`port`).
  public var section: Substring { path.prefix { $0 != "." } }
  public var key: Substring { path.drop { $0 != "." }.dropFirst() }

  /// The environment variable that sets it: `FUNNEL_SERVER_MAX_QUEUE_WAIT_MS` for
  /// `server.maxQueueWaitMs` (any case; underscores inside the key are ignored when matching).
  public var environmentName: String {
    var name = "FUNNEL_\(section.uppercased())_"
    for (i, c) in key.enumerated() {
      if c.isUppercase, i > 0 { name += "_" }
      name += c.uppercased()
    }
    return name
  }

  /// `value` checked against the kind; `origin` names where it came from in the error.
  func checked(_ value: Value, origin: String) throws -> Value {
    switch (kind, value) {
    case (.integer(let range), .integer(let n)) where range.contains(n): return value
    case (.boolean, .boolean), (.string, .string): return value
    case (.choice(let names), .string(let s)) where names.contains(s): return value
    default:
      let given = if case .string(let s) = value { "'\(s)'" } else { value.description }
      throw FunnelError(.invalidArgument, "\(origin): '\(path)' must be \(expected), not \(given)")
    }
  }

  /// What the key takes, for error messages: "an integer in 0...65535".
  public var expected: String {
    switch kind {
    case .integer(let range): return "an integer in \(range.lowerBound)...\(range.upperBound)"
    case .boolean: return "true or false"
    case .string: return "a string"
    case .choice(let names): return "one of \(names.joined(separator: ", "))"
    }
  }

  /// A value from the text of an environment variable or a flag.
  func parse(_ text: String, origin: String) throws -> Value {
    switch kind {
    case .integer:
      guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
        throw FunnelError(.invalidArgument, "\(origin): '\(path)' must be \(expected), not '\(text)'")
      }
      return try checked(.integer(n), origin: origin)
    case .boolean:
      guard let b = Bool(text.lowercased()) else {
        throw FunnelError(.invalidArgument, "\(origin): '\(path)' must be \(expected), not '\(text)'")
      }
      return .boolean(b)
    case .string, .choice:
      return try checked(.string(text), origin: origin)
    }
  }

  /// A value from the config file's JSON (numbers must be exact integers); `null` unsets a string
  /// and leaves other kinds as they were (nil).
  func value(_ json: JSONValue, origin: String) throws -> Value? {
    switch json {
    case .number(let d):
      guard let n = Int(exactly: d) else {
        throw FunnelError(.invalidArgument, "\(origin): '\(path)' must be \(expected), not \(d)")
      }
      return try checked(.integer(n), origin: origin)
    case .bool(let b): return try checked(.boolean(b), origin: origin)
    case .string(let s): return try checked(.string(s), origin: origin)
    case .null: return kind == .string ? .unset : nil
    case .array, .object: throw FunnelError(.invalidArgument, "\(origin): '\(path)' must be \(expected), not a JSON \(json.kindName)")
    }
  }
}

extension JSONValue {
  /// "object", "array", ... for error messages.
  var kindName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .number: return "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }
}

extension ConfigKey {
  /// An integer field.
  static func integer(_ path: String, _ range: ClosedRange<Int>,
                      _ field: any WritableKeyPath<ServerOptions, Int> & Sendable) -> ConfigKey {
    ConfigKey(path: path, kind: .integer(range), read: { .integer($0[keyPath: field]) },
              write: { if case .integer(let n) = $1 { $0[keyPath: field] = n } })
  }

  /// An integer that the options keep in another form (a duration, bytes, an optional).
  static func integer(_ path: String, _ range: ClosedRange<Int>, get: @escaping @Sendable (ServerOptions) -> Int,
                      set: @escaping @Sendable (inout ServerOptions, Int) -> Void) -> ConfigKey {
    ConfigKey(path: path, kind: .integer(range), read: { .integer(get($0)) },
              write: { if case .integer(let n) = $1 { set(&$0, n) } })
  }

  /// A boolean field.
  static func boolean(_ path: String, _ field: any WritableKeyPath<ServerOptions, Bool> & Sendable) -> ConfigKey {
    ConfigKey(path: path, kind: .boolean, read: { .boolean($0[keyPath: field]) },
              write: { if case .boolean(let b) = $1 { $0[keyPath: field] = b } })
  }

  /// A string field that may be unset.
  static func string(_ path: String, _ field: any WritableKeyPath<ServerOptions, String?> & Sendable) -> ConfigKey {
    ConfigKey(path: path, kind: .string, read: { $0[keyPath: field].map(Value.string) ?? .unset },
              write: {
                switch $1 {
                case .string(let s): $0[keyPath: field] = s
                case .unset: $0[keyPath: field] = nil
                default: break
                }
              })
  }

  /// A string field that always has a value.
  static func string(_ path: String, _ field: any WritableKeyPath<ServerOptions, String> & Sendable) -> ConfigKey {
    ConfigKey(path: path, kind: .string, read: { .string($0[keyPath: field]) },
              write: { if case .string(let s) = $1 { $0[keyPath: field] = s } })
  }
}
