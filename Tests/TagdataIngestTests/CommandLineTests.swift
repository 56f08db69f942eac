import Foundation
import TagdataCatalog
import TestSupport
import Testing

@Suite struct CommandLineTests {
  @Test func helpTeachesTheCommands() throws {
    let top = try TestSupport.tagdata(["--help"])
    #expect(top.status == 0)
    for word in ["ingest", "canon", "catalog", "Exit codes"] { #expect(top.stdout.contains(word), "\(word)") }
    let ingest = try TestSupport.tagdata(["help", "ingest"])
    for word in ["--catalog", "--ambiguity", "--batch-size", "--json", "Examples", "kill -9"] {
      #expect(ingest.stdout.contains(word), "\(word)")
    }
  }

  @Test func badUsageExits64() throws {
    let r = try TestSupport.tagdata(["ingest", "--batch-size", "0", "x"])
    #expect(r.status == 64)
    #expect(r.stderr.contains("batch-size"))
  }

  @Test func canonProteinWritesOneLinePerInputLine() throws {
    let input = "mkt ayiak*\n\nMK-TA\n  acd 12 e\nMK*TA\n"
    let r = try TestSupport.tagdata(["canon", "protein", "-"], input: Data(input.utf8))
    #expect(r.status == 1)
    #expect(r.stdout == "MKTAYIAK\n\n\nACDE\n\n")
    #expect(r.stderr.contains("line 3: invalid character '-' at position 3"))
    #expect(r.stderr.contains("line 5: stop '*' inside the sequence"))
    let ok = try TestSupport.tagdata(["canon", "protein", "--checksums"], input: Data("MTQSNPNEQNVELNRTSLYWGLLLIFVLAVLFSNYFFN\n".utf8))
    #expect(ok.status == 0)
    #expect(ok.stdout.hasPrefix("MTQSNPNEQNVELNRTSLYWGLLLIFVLAVLFSNYFFN\t55537AEC50D25E8D\t"))
  }

  @Test func canonProteinReadsCompressedFasta() throws {
    let dir = TestSupport.tempDirectory()
    let gz = dir.appendingPathComponent("p.fa.gz").path
    try TestSupport.shell("printf '>a one\\nmk\\nta\\n>b\\nxb\\n' | gzip > '\(gz)'")
    let r = try TestSupport.tagdata(["canon", "protein", "--ambiguity", "map", gz])
    #expect(r.status == 0)
    #expect(r.stdout == ">a one\nMKTA\n>b\nXX\n")
  }

  @Test func ingestFromStandardInputAndStatsAsJSON() throws {
    let dir = TestSupport.tempDirectory()
    let catalog = dir.appendingPathComponent("c.sqlite").path
    let data = try Data(contentsOf: TestSupport.corpus("uniprot/compressed/multi_ex.txt.gz"))
    let r = try TestSupport.tagdata(["ingest", "--json", "--catalog", catalog, "-"], input: data)
    #expect(r.status == 0, "\(r.stderr)")
    let reports = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
    #expect(reports?.first?["records"] as? Int == 8)
    #expect(reports?.first?["compression"] as? String == "gzip")
    let stats = try TestSupport.tagdata(["catalog", "stats", "--json", "--catalog", catalog])
    let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
    #expect(object?["proteins"] as? Int == 8)
    #expect(object?["records"] as? Int == 8)
    let text = try TestSupport.tagdata(["catalog", "stats", "--catalog", catalog])
    #expect(text.stdout.contains("8 distinct sequences"))
  }

  @Test func quarantineListsFileRecordLineAndReason() throws {
    let dir = TestSupport.tempDirectory()
    let bad = dir.appendingPathComponent("bad.dat")
    var text = String(decoding: try Data(contentsOf: TestSupport.corpus("uniprot/flat/P60137.txt")), as: UTF8.self)
    text = text.replacingOccurrences(of: "55537AEC50D25E8D", with: "55537AEC50D25E8E")
    try Data(text.utf8).write(to: bad)
    let catalog = dir.appendingPathComponent("c.sqlite").path
    #expect(try TestSupport.tagdata(["ingest", "--catalog", catalog, bad.path]).status == 0)
    let q = try TestSupport.tagdata(["catalog", "quarantine", "--catalog", catalog])
    #expect(q.stdout.contains("bad.dat: record 1, line 1, byte 0: CRC64 mismatch: sequence gives 55537AEC50D25E8D, the entry declares 55537AEC50D25E8E"))
  }

  @Test func unknownFormatFailsWithExitCode1() throws {
    let dir = TestSupport.tempDirectory()
    let junk = dir.appendingPathComponent("junk.txt")
    try Data("hello world\n".utf8).write(to: junk)
    let r = try TestSupport.tagdata(["ingest", "--catalog", dir.appendingPathComponent("c.sqlite").path, junk.path])
    #expect(r.status == 1)
    #expect(r.stderr.contains("junk.txt: not a recognised format"))
  }
}

@Suite struct SchemaTests {
  @Test func catalogSQLIsTheMigrationDDL() throws {
    let file = String(decoding: try Data(contentsOf: TestSupport.root.appendingPathComponent("Schemas/catalog.sql")), as: UTF8.self)
    func normalize(_ s: String) -> String {
      s.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: " ")
        .split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
    }
    #expect(normalize(file) == normalize(Catalog.migrations.joined(separator: "\n")))
  }

  /// The JSON that `ingest --json` and `catalog stats --json` print validates against the
  /// published schemas (checked by Python's jsonschema).
  @Test(.enabled(if: TestSupport.python != nil || TestSupport.interopRequired))
  func jsonOutputsMatchTheirSchemas() throws {
    guard let python = TestSupport.python else {
      Issue.record("no venv python")
      return
    }
    let dir = TestSupport.tempDirectory()
    let catalog = dir.appendingPathComponent("c.sqlite").path
    let ingest = try TestSupport.tagdata(["ingest", "--json", "--catalog", catalog] + flatFiles.prefix(3).map(\.path)
      + [dir.appendingPathComponent("missing.dat").path])
    #expect(ingest.status == 1)
    let stats = try TestSupport.tagdata(["catalog", "stats", "--json", "--catalog", catalog])
    for (output, schema) in [(ingest.stdout, "ingest-report"), (stats.stdout, "catalog-stats")] {
      let path = dir.appendingPathComponent("\(schema).json")
      try Data(output.utf8).write(to: path)
      let schemaPath = TestSupport.root.appendingPathComponent("Schemas/\(schema).schema.json").path
      let check = try TestSupport.run(python, ["-c", """
        import json, sys, jsonschema
        jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
        print("valid")
        """, path.path, schemaPath])
      #expect(check.stdout == "valid\n", "\(schema): \(check.stderr)")
    }
  }
}
