import FunnelTestSupport
import MongoStore
import Testing

/// Runs against the MongoDB wire server named by MONGO_URI (Scripts/test starts one). Skipped with a
/// printed reason only when run by hand without it; under CI a missing MONGO_URI fails.
@Suite(.enabled(if: StoreEnvironment.mongoURI != nil || StoreEnvironment.isCI,
                "MONGO_URI is not set: start the MongoDB wire server or run Scripts/test"))
struct MongoClientTests {
  @Test func pingsTheRealServer() async throws {
    let uri = try #require(StoreEnvironment.mongoURI, "MONGO_URI must be set under CI")
    let reply = try await MongoClient(uri: uri).ping()
    #expect(reply.contains("\"ok\""), "\(reply)")
  }
}

@Suite struct MongoURITests {
  @Test func refusesMalformedURIs() {
    let error = #expect(throws: MongoError.self) { try MongoClient(uri: "notmongo://x") }
    #expect(error?.message.contains("notmongo://x") == true)
  }

  @Test func unreachableServerFailsClearly() async throws {
    let client = try MongoClient(uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=200")
    await #expect(throws: MongoError.self) { try await client.ping() }
  }
}
