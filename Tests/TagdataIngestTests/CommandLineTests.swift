import Foundation
import TagdataCatalog
import TagdataSources
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
    // Its only record is quarantined: the file gave no usable record (exit 1), and says why.
    #expect(try TestSupport.tagdata(["ingest", "--catalog", catalog, bad.path]).status == 1)
    let q = try TestSupport.tagdata(["catalog", "quarantine", "--catalog", catalog])
    #expect(q.stdout.contains("bad.dat: record 1, line 97, byte 0: CRC64 mismatch: sequence gives 55537AEC50D25E8D, the entry declares 55537AEC50D25E8E"))
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

  /// A version-2 catalog (names and comments in tables of their own) opens as version 3 with
  /// the same names and comments, now JSON on the entry and rows through the views.
  @Test func version2CatalogMigrates() throws {
    let path = TestSupport.tempDirectory().appendingPathComponent("v2.sqlite").path
    do {
      let db = try Database(path: path)
      try db.execute(Catalog.migrations[0])
      try db.execute(Catalog.migrations[1])
      try db.execute("""
        PRAGMA user_version = 2;
        INSERT INTO proteins(id, sha256, crc64, length, sequence) VALUES (1, x'00', '0000000000000000', 1, 'M');
        INSERT INTO entries(id, protein_id, accession) VALUES (1, 1, 'P1'), (2, 1, 'P2');
        INSERT INTO names(entry_id, kind, value) VALUES (1, 'recommended', 'Name "one"'), (1, 'ec', '1.2.3.4');
        INSERT INTO comments(entry_id, ordinal, topic, text) VALUES (1, 1, 'PTM', 'second'), (1, 0, 'FUNCTION', 'first');
        """)
    }
    let catalog = try Catalog(path: path)
    #expect(try catalog.db.scalar("PRAGMA user_version") == Catalog.schemaVersion)
    let names = try catalog.db.prepare("SELECT names, comments FROM entries ORDER BY id")
    #expect(try names.step())
    #expect(names.text(0) == #"[["ec","1.2.3.4"],["recommended","Name \"one\""]]"#)
    #expect(names.text(1) == #"[["FUNCTION","first"],["PTM","second"]]"#)
    #expect(try names.step())
    #expect(names.isNull(0) && names.isNull(1))
    let rows = try catalog.db.prepare("SELECT entry_id, ordinal, topic, text FROM comments ORDER BY ordinal")
    var texts: [String] = []
    while try rows.step() { texts.append("\(rows.int(0)) \(rows.int(1)) \(rows.text(2) ?? "") \(rows.text(3) ?? "")") }
    #expect(texts == ["1 0 FUNCTION first", "1 1 PTM second"])
    #expect(try catalog.db.scalar("SELECT COUNT(*) FROM names WHERE value = 'Name \"one\"'") == 1)
  }

  /// Names and comments with quotes, backslashes, control characters and non-ASCII text come
  /// back unchanged through the views; a name repeated in an entry is stored once.
  @Test func namesAndCommentsRoundTrip() throws {
    let catalog = try Catalog(path: TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path)
    let writer = try ProteinWriter(catalog: catalog)
    let tricky = ["plain", "with \"quotes\" and \\ backslash", "tab\tnew\nline\u{1}", "β-lactamase ✓"]
    try catalog.db.transaction {
      try writer.ingestEntry(sequence: "M") { p, a in
        p.accessions = a.appendList(["P1"])
        p.names = a.appendPairs(tricky.map { ("alternative", $0) } + [("alternative", "plain")])
        p.comments = a.appendPairs(tricky.map { ("FUNCTION", $0) })
      }
      try writer.flush()
    }
    var names: [String] = []
    let n = try catalog.db.prepare("SELECT value FROM names ORDER BY rowid")
    while try n.step() { names.append(n.text(0) ?? "") }
    #expect(names == tricky)
    var texts: [String] = []
    let c = try catalog.db.prepare("SELECT text FROM comments ORDER BY ordinal")
    while try c.step() { texts.append(c.text(0) ?? "") }
    #expect(texts == tricky)
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
