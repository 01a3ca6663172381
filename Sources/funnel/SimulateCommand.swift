import ArgumentParser
import Foundation
import LoadGenerator

/// `funnel simulate`: shop traffic for the live dashboard.
struct Simulate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Drive a running server with realistic shop traffic (sessions, events, orders) for the live dashboard.",
    discussion: """
      Shoppers open their home page, view, click and add to cart (events attributed to the answer they saw), and \
      order (created, then paid); other sessions only browse. --spike 60,5 multiplies the order rate by 5 from second \
      60 for --spike-seconds; --outage 120,60 makes payments fail from second 120 for 60 s (orders end cancelled). \
      Talks to the JSON API (POST /v1/recommend, /v1/events, /v1/orders).
      """)
  @Option(help: "The server's HTTP listener, e.g. http://127.0.0.1:8080.") var target = "http://127.0.0.1:8080"
  @Option(help: "Orders per second (each with its shoppers' sessions).") var ordersPerSecond: Double = 2
  @Option(help: "How long, e.g. 60s, 10m.") var duration = "60s"
  @Option(help: "A sale spike: AT,FACTOR (seconds from the start, rate multiplier).") var spike: String?
  @Option(help: "How long a spike lasts, seconds.") var spikeSeconds: Double = 120
  @Option(help: "A payment outage: AT,SECONDS (from the start; most orders end cancelled).") var outage: String?
  @Option(help: "Browsing-only sessions per order.") var browsersPerOrder = 2
  @Option(help: "Random seed (the same arguments send the same traffic).") var seed: UInt64 = 1
  @Option(help: "API key or token sent as Authorization: Bearer (needs recommend and events:write).") var credential: String?
  @Flag(help: "No progress line.") var quiet = false

  func run() async throws {
    guard target.hasPrefix("http://") || target.hasPrefix("https://") else {
      throw ValidationError("--target must be an http(s) URL of the server's HTTP listener, e.g. http://127.0.0.1:8080")
    }
    guard ordersPerSecond > 0, ordersPerSecond <= 10_000 else { throw ValidationError("--orders-per-second must be in (0, 10000]") }
    let seconds = try LoadDuration.milliseconds(duration, what: "--duration") / 1_000
    var simulation = ShopSimulation(baseURL: target, ordersPerSecond: ordersPerSecond, seconds: seconds)
    simulation.spike = try spike.map { try Self.pair($0, "--spike", "AT,FACTOR") }.map { (at: $0.0, factor: $0.1) }
    simulation.spikeSeconds = spikeSeconds
    simulation.outage = try outage.map { try Self.pair($0, "--outage", "AT,SECONDS") }.map { (at: $0.0, seconds: $0.1) }
    simulation.browsersPerOrder = max(0, browsersPerOrder)
    simulation.seed = seed
    simulation.authorization = credential.map { "Bearer " + $0 }
    let quiet = self.quiet
    let report = try await simulation.run { elapsed, report in
      guard !quiet else { return }
      FileHandle.standardError.write(Data(String(format: "\r%5.0f s  orders %d paid %d cancelled %d  events %d  failed %d   ",
                                                 elapsed, report.ordersCreated, report.ordersPaid, report.ordersCancelled,
                                                 report.events, report.failedCalls).utf8))
    }
    if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(report), as: UTF8.self))
    if report.failedCalls > 0 && report.ordersCreated == 0 { throw ExitCode(1) }
  }

  static func pair(_ text: String, _ flag: String, _ form: String) throws -> (Double, Double) {
    let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, b > 0, a.isFinite, b.isFinite else {
      throw ValidationError("\(flag) must be \(form) with numbers, e.g. 60,5")
    }
    return (a, b)
  }
}
