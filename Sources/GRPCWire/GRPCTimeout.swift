import GRPCCore
import NIOCore

/// The `grpc-timeout` request header: `<1-8 digits><unit>`, unit one of H M S m u n.
///
/// The header comes from the network: eight digits of hours (`99999999H`) is legal and is more
/// nanoseconds than an `Int64` holds, so every conversion here is checked or clamped, never trapping.
public enum GRPCTimeout {
  /// The duration `text` names, or nil when it is malformed (not 1-8 ASCII digits and a unit).
  /// Never traps: the largest legal value, 99,999,999 hours, fits a `Duration`.
  public static func parse(_ text: some StringProtocol) -> Duration? {
    let utf8 = Array(text.utf8)
    guard (2...9).contains(utf8.count), let unit = utf8.last else { return nil }
    var amount: Int64 = 0
    for byte in utf8.dropLast() {
      guard (0x30...0x39).contains(byte) else { return nil }
      amount = amount * 10 + Int64(byte - 0x30)  // at most 8 digits: no overflow
    }
    switch unit {
    case UInt8(ascii: "H"): return .seconds(amount * 3_600)
    case UInt8(ascii: "M"): return .seconds(amount * 60)
    case UInt8(ascii: "S"): return .seconds(amount)
    case UInt8(ascii: "m"): return .milliseconds(amount)
    case UInt8(ascii: "u"): return .microseconds(amount)
    case UInt8(ascii: "n"): return .nanoseconds(amount)
    default: return nil
    }
  }

  /// The timeout `text` names, clamped to `maximum` (a timeout above the server's maximum is the
  /// maximum); nil when malformed.
  public static func parse(_ text: some StringProtocol, maximum: Duration) -> Duration? {
    parse(text).map { min($0, maximum) }
  }

  /// `duration` in whole nanoseconds, saturating at `Int64.max` (about 292 years) instead of
  /// trapping; negative durations are 0.
  public static func nanoseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0 else { return 0 }
    let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    guard !overflow else { return .max }
    let (total, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
    return overflow2 ? .max : total
  }
}
