import Alarms
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Posts alarm transitions (firing, resolved) to webhooks, a lifecycle `Service`: each transition
/// goes to every URL as JSON, signed when a secret is set (`X-Funnel-Signature: sha256=HEX`, the
/// HMAC-SHA256 of `TIMESTAMP.BODY` with `X-Funnel-Timestamp` in Unix seconds, as Stripe and GitHub
/// sign theirs, so a receiver can reject forgeries and replays), with the transition's
/// de-duplication key in `X-Funnel-Dedup-Key`. A failed post (connection error, timeout, 5xx, 429)
/// is retried with back-off (0.5, 1, 2, 4, 8 s) and then dropped and logged; a 4xx other than 429
/// is not retried. At most `capacity` transitions wait (the oldest are dropped past that). Thread-safe.
public final class WebhookNotifier: Service, Sendable {
  let urls: [String]
  let secret: [UInt8]?
  let logger: Logger
  private let queue: AsyncStream<AlarmTransition>
  private let sink: AsyncStream<AlarmTransition>.Continuation
  static let backoff: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)]
  public static let capacity = 1_000

  /// A notifier posting to `urls`, signing with `secret` (nil: unsigned).
  public init(urls: [String], secret: [UInt8]?, logger: Logger) {
    self.urls = urls
    self.secret = secret
    self.logger = logger
    (queue, sink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(Self.capacity))
  }

  /// Queues `transitions` for every webhook; never waits.
  public func notify(_ transitions: [AlarmTransition]) {
    for transition in transitions { sink.yield(transition) }
  }

  public func run() async throws {
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
      timeout: .init(connect: .seconds(3), read: .seconds(5)), decompression: .disabled))
    await withGracefulShutdownHandler {
      for await transition in queue {
        for url in urls { await deliver(transition, to: url, client: client) }
      }
    } onGracefulShutdown: { [sink] in
      sink.finish()
    }
    try await client.shutdown()
  }

  /// The body posted for `transition`.
  static func body(_ transition: AlarmTransition) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    return Array(try encoder.encode(transition))
  }

  /// `sha256=HEX` of HMAC-SHA256(`secret`, `timestamp.body`).
  public static func signature(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: secret))
    return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
  }

  private func deliver(_ transition: AlarmTransition, to url: String, client: HTTPClient) async {
    guard let body = try? Self.body(transition) else { return }
    for attempt in 0...Self.backoff.count {
      var request = HTTPClientRequest(url: url)
      request.method = .POST
      request.headers.add(name: "Content-Type", value: "application/json")
      request.headers.add(name: "User-Agent", value: "funnel-alarms")
      request.headers.add(name: "X-Funnel-Dedup-Key", value: transition.dedupKey)
      let timestamp = Int64(Date().timeIntervalSince1970)
      if let secret {
        request.headers.add(name: "X-Funnel-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-Funnel-Signature", value: Self.signature(secret: secret, timestamp: timestamp, body: body))
      }
      request.body = .bytes(ByteBuffer(bytes: body))
      var retry = true
      do {
        let response = try await client.execute(request, timeout: .seconds(5))
        _ = try? await response.body.collect(upTo: 64 * 1024)
        if (200..<300).contains(response.status.code) { return }
        retry = response.status.code >= 500 || response.status.code == 429
        logger.warning("alarm webhook refused the notification", metadata: [
          "url": "\(url)", "status": "\(response.status.code)", "rule": "\(transition.rule)", "attempt": "\(attempt + 1)"])
      } catch {
        logger.warning("alarm webhook unreachable", metadata: ["url": "\(url)", "error": "\(error)", "rule": "\(transition.rule)",
                                                               "attempt": "\(attempt + 1)"])
      }
      guard retry, attempt < Self.backoff.count else { break }
      try? await Task.sleep(for: Self.backoff[attempt])
    }
    logger.error("alarm notification dropped after retries", metadata: ["url": "\(url)", "rule": "\(transition.rule)",
                                                                        "state": "\(transition.kind.rawValue)"])
  }
}
