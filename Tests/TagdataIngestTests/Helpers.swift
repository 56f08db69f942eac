import Foundation
import TagdataCatalog
import TagdataIngest
import TestSupport

/// Ingests files into a fresh catalog and returns it with the reports.
func ingest(_ paths: [String], catalogPath: String? = nil, options: IngestOptions = IngestOptions()) throws
  -> (catalog: Catalog, reports: [FileReport])
{
  let path = catalogPath ?? TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
  let catalog = try Catalog(path: path)
  let ingestor = try Ingestor(catalog: catalog, options: options)
  let reports = try paths.map { try ingestor.ingest(path: $0) }
  try ingestor.close()
  // Ingest writes with reference checks off: every catalog a test builds must still be sound.
  let violations = try catalog.foreignKeyViolations()
  if !violations.isEmpty { throw CatalogUnsound(violations: violations) }
  return (catalog, reports)
}

struct CatalogUnsound: Error, CustomStringConvertible {
  var violations: [String]
  var description: String { "\(violations.count) rows with dangling references: \(violations.prefix(5))" }
}

/// Number of entries in a flat file (`//` lines) or XML file (`<entry` tags), counted naively.
func countEntries(_ url: URL) throws -> Int {
  let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
  if url.path.hasSuffix(".xml") { return text.components(separatedBy: "<entry").count - 1 }
  return text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0 == "//" }.count
}

let flatFiles = TestSupport.corpusFiles("uniprot/flat")
let xmlFiles = TestSupport.corpusFiles("uniprot/xml")
