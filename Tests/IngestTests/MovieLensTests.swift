import Foundation
import FunnelCore
import Ingest
import Testing

@Suite struct MovieLensTests {
  @Test func moviesRatingsAndTags() throws {
    let dir = NSTemporaryDirectory() + "ml-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,\"City, The\",(no genres listed)\n"
      .write(toFile: dir + "/movies.csv", atomically: true, encoding: .utf8)
    try "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n1,2,3.0,964982000\n2,9,5.0,964982000\n"
      .write(toFile: dir + "/ratings.csv", atomically: true, encoding: .utf8)
    try "userId,movieId,tag,timestamp\n2,1,Pixar,1\n3,1,pixar,2\n3,1,fun,3\n".write(toFile: dir + "/tags.csv", atomically: true, encoding: .utf8)
    let shop = try MovieLens.ingest(directory: dir)
    #expect(shop.items.count == 2)
    #expect(shop.items[0].categoryPath == ["adventure"] && shop.items[0].tags == ["adventure", "animation", "pixar", "fun"])
    #expect(shop.items[0].attributes["year"] == .number(1995) && shop.items[1].attributes.isEmpty)
    #expect(shop.items[1].title == "City, The" && shop.items[1].categoryPath == ["other"])
    #expect(shop.events.map(\.kind) == [.view, .purchase], "time order; rating 4.5 is a positive, 3.0 a view")
    #expect(shop.events[1].timestampMs == 964_982_703_000)
    let report = Dictionary(uniqueKeysWithValues: shop.report.map { ($0.rule, $0.rows) })
    #expect(report["unknown movies"] == 1 && report["rows read"] == 3)
  }
}
