// swift-tools-version: 6.1
// Micro-benchmarks of Funnel's kernels (google/swift-benchmark), a package of its own so the main
// build and CI do not compile them. Run with ./run.sh (README in this folder).
import PackageDescription

let package = Package(
  name: "FunnelMicroBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "Funnel", path: "../.."),
    .package(url: "https://github.com/google/swift-benchmark", exact: "0.1.2"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
  ],
  targets: [
    .executableTarget(
      name: "FunnelMicroBenchmarks",
      dependencies: [
        .product(name: "FunnelKernels", package: "Funnel"),
        .product(name: "FunnelServing", package: "Funnel"),
        .product(name: "FunnelGRPC", package: "Funnel"),
        .product(name: "Benchmark", package: "swift-benchmark"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: [.swiftLanguageMode(.v6)]),
  ])
