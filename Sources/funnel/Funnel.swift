import ArgumentParser
import Foundation
import FunnelCore
import FunnelServer
import Logging

/// The `funnel` command line.
@main
struct Funnel: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "funnel",
    abstract: "Funnel: a two-stage recall-and-ranking engine for e-commerce recommendations and search.",
    version: FunnelApplication.version,
    subcommands: [Serve.self, ConfigCommand.self, Query.self, Index.self, CatalogCommand.self, ArchiveCommand.self, PipelineCommand.self, Generate.self, Model.self, Features.self, Load.self, Batch.self, IngestData.self, Eval.self, Export.self,
                  Consume.self, ExperimentsCommand.self, AuthCommand.self, Decrypt.self, Simulate.self])
}
