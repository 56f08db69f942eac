import Foundation
import TagdataCatalog
import TagdataIngest
import TestSupport
import Testing

/// Runs a shell command line with `tagdata` as `$T` and the corpora as `$C`.
@discardableResult
private func sh(_ script: String) throws -> TestSupport.Output {
  try TestSupport.run("/bin/bash", ["-c", "T='\(TestSupport.tagdataBinary)'; C='\(TestSupport.corpus("").path)'; " + script])
}

private func count(_ catalog: String, _ table: String) throws -> Int {
  let c = try Catalog(path: catalog, readOnly: true)
  return Int(try c.db.scalar("SELECT count(*) FROM \(table)") ?? -1)
}

/// The records and quarantined counts of a `tagdata ingest --json` report on one file.
private func reportCounts(_ json: String) -> (status: String, format: String, records: Int, quarantined: Int)? {
  guard let data = json.data(using: .utf8),
    let rows = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], let r = rows.first
  else { return nil }
  return (r["status"] as? String ?? "", r["format"] as? String ?? "", r["records"] as? Int ?? -1, r["quarantined"] as? Int ?? -1)
}

@Suite struct StreamInputTests {
  /// A pipe, a FIFO, process substitution and /dev/stdin are read once: nothing is lost.
  @Test(arguments: [
    "$T ingest --quiet --catalog \"$D/c.sqlite\" <(cat \"$C/pubchem/sdf/pubchem.200.sdf\")",
    "mkfifo \"$D/f\"; cat \"$C/pubchem/sdf/pubchem.200.sdf\" > \"$D/f\" & $T ingest --quiet --catalog \"$D/c.sqlite\" \"$D/f\"",
    "cat \"$C/pubchem/sdf/pubchem.200.sdf\" | $T ingest --quiet --catalog \"$D/c.sqlite\" /dev/stdin",
    "cat \"$C/pubchem/sdf/pubchem.200.sdf\" | $T ingest --quiet --catalog \"$D/c.sqlite\" -",
    "gzip -c \"$C/pubchem/sdf/pubchem.200.sdf\" | $T ingest --quiet --catalog \"$D/c.sqlite\" -",
  ])
  func nonSeekableInputsLoseNothing(command: String) throws {
    let dir = TestSupport.tempDirectory().path
    let r = try sh("D='\(dir)'; " + command)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try count(dir + "/c.sqlite", "molecule_records") == 200)
    // The same stream again is recognised by its content: nothing is added.
    let again = try sh("D='\(dir)'; " + command)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(try count(dir + "/c.sqlite", "molecule_records") == 200)
    #expect(try count(dir + "/c.sqlite", "sources") == 1)
  }

  /// kill -9 during a standard-input ingest, then the same command: the rows of a clean run,
  /// no extra provenance.
  @Test func killedStandardInputIngestResumesWithoutDuplicates() throws {
    let dir = TestSupport.tempDirectory().path
    try sh("for i in $(seq 24); do cat \"$C/pubchem/sdf/pubchem.200.sdf\"; done > '\(dir)/big.sdf'")
    let total = 24 * 200
    let clean = try sh("$T ingest --quiet --batch-size 100 --catalog '\(dir)/clean.sqlite' - < '\(dir)/big.sdf'")
    #expect(clean.status == 0, "\(clean.stderr)")
    let reference = try Catalog(path: dir + "/clean.sqlite", readOnly: true).dump()
    var killedOnce = false
    for attempt in 0..<6 {
      // Kill after a short while; each attempt lets it run a little longer.
      let r = try sh("""
        cat '\(dir)/big.sdf' | $T ingest --quiet --batch-size 100 --catalog '\(dir)/k.sqlite' - & p=$!
        sleep 0.\(3 + attempt); kill -9 $p 2>/dev/null && echo killed; wait $p; true
        """)
      if r.stdout.contains("killed") { killedOnce = true }
    }
    let last = try sh("cat '\(dir)/big.sdf' | $T ingest --quiet --batch-size 100 --catalog '\(dir)/k.sqlite' -")
    #expect(last.status == 0, "\(last.stderr)")
    #expect(killedOnce)
    #expect(try count(dir + "/k.sqlite", "molecule_records") == total)
    #expect(try Catalog(path: dir + "/k.sqlite", readOnly: true).dump() == reference)
    // Redirected from the file, standard input is the same source: nothing to do.
    let redirected = try sh("$T ingest --json --catalog '\(dir)/k.sqlite' - < '\(dir)/big.sdf'")
    #expect(redirected.stdout.contains("already-ingested"), "\(redirected.stdout)")
  }

  /// A stream that starts like one already ingested but goes on differently is refused, not
  /// mistaken for it.
  @Test func aDifferentStreamWithTheSameHeadIsNotSkipped() throws {
    let dir = TestSupport.tempDirectory().path
    try sh("for i in $(seq 40); do cat \"$C/pubchem/sdf/pubchem.200.sdf\"; done > '\(dir)/a.sdf'")
    #expect(try sh("$T ingest --quiet --catalog '\(dir)/c.sqlite' - < '\(dir)/a.sdf'").status == 0)
    let r = try sh("(cat '\(dir)/a.sdf' \"$C/pubchem/sdf/pubchem_stereo_test.sdf\") | $T ingest --quiet --catalog '\(dir)/c.sqlite' -")
    #expect(r.status == 1)
    #expect(r.stderr.contains("differs"), "\(r.stderr)")
  }
}

@Suite struct DetectionTests {
  /// CRLF and mixed line ends: every shipped SD file and molfile, and a CID-SMILES file, give the
  /// rows of the LF original.
  @Test func crlfFilesAreRecognisedAndReadAlike() throws {
    let dir = TestSupport.tempDirectory()
    try "1\tCCO\n2\tc1ccccc1O\n3\tC[C@H](N)C(=O)O\n".write(to: dir.appendingPathComponent("cid.tsv"), atomically: true, encoding: .utf8)
    let files = TestSupport.corpusFiles("pubchem/sdf").filter { !$0.path.hasSuffix(".gz") }
      + TestSupport.corpusFiles("pubchem/mdl_other") + [dir.appendingPathComponent("cid.tsv")]
    for file in files {
      let name = file.lastPathComponent
      let lf = dir.appendingPathComponent("\(name).lf.sqlite").path
      let base = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", lf, file.path])
      let crlf = dir.appendingPathComponent("\(name).crlf").path
      let mixed = dir.appendingPathComponent("\(name).mixed").path
      try sh("sed 's/$/\\r/' '\(file.path)' > '\(crlf)'; awk 'NR % 2 { printf \"%s\\r\\n\", $0; next } { print }' '\(file.path)' > '\(mixed)'")
      for variant in [crlf, mixed] {
        let c = variant + ".sqlite"
        let r = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", c, variant])
        #expect(r.status == base.status, "\(variant): \(r.stderr)")
        #expect(!r.stderr.contains("not a recognised format"), "\(variant): \(r.stderr)")
        #expect(try Catalog(path: c, readOnly: true).dump(provenance: false) == Catalog(path: lf, readOnly: true).dump(provenance: false),
                "\(variant)")
      }
    }
  }

  @Test func crOnlyFilesAreNamedAsSuch() throws {
    let dir = TestSupport.tempDirectory().path
    let r = try sh("tr '\\n' '\\r' < \"$C/pubchem/sdf/pubchem.200.sdf\" > '\(dir)/cr.sdf'; $T ingest --catalog '\(dir)/c.sqlite' '\(dir)/cr.sdf'")
    #expect(r.status == 1)
    #expect(r.stderr.contains("CR-only line ends"), "\(r.stderr)")
  }

  /// An SD file whose first title looks like a FASTA header or a UniProt ID line is still read as
  /// an SD file: the counts line, `M  END` and `$$$$` outweigh the first bytes.
  @Test(arguments: [">sp|P12345|not a protein", "ID   NOT_A_PROTEIN  Reviewed;  100 AA.", ">", "ID   "])
  func sdfTitlesThatLookLikeOtherFormats(title: String) throws {
    let dir = TestSupport.tempDirectory().path
    let r = try sh("""
      awk -v t='\(title)' 'NR == 1 || prev == "$$$$" { print t; prev = $0; next } { print; prev = $0 }' \
        "$C/pubchem/sdf/pubchem.200.sdf" > '\(dir)/t.sdf'; $T ingest --json --catalog '\(dir)/c.sqlite' '\(dir)/t.sdf'
      """)
    #expect(r.status == 0, "\(r.stderr)")
    let counts = reportCounts(r.stdout)
    #expect(counts?.format == "sdf", "\(r.stdout)")
    #expect(counts?.records == 200 && counts?.quarantined == 0, "\(r.stdout)")
  }

  /// A file where every record is quarantined is not a success.
  @Test func aFileWithNoUsableRecordExitsNonZero() throws {
    let dir = TestSupport.tempDirectory().path
    let r = try sh("printf '1\\tC1CC\\n2\\tXx\\n' > '\(dir)/bad.tsv'; $T ingest --catalog '\(dir)/c.sqlite' '\(dir)/bad.tsv'")
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stderr.contains("no usable record"), "\(r.stderr)")
    let good = try sh("printf '1\\tC1CC\\n2\\tCCO\\n' > '\(dir)/half.tsv'; $T ingest --catalog '\(dir)/c.sqlite' '\(dir)/half.tsv'")
    #expect(good.status == 0, "\(good.stderr)")
  }
}

@Suite struct ExitCodeTests {
  /// The README's exit-code table, command by command.
  @Test func everyCommandFollowsTheTable() throws {
    let dir = TestSupport.tempDirectory().path
    try sh("""
      cd '\(dir)'; echo 'just text' > text.txt; head -c 3000 /dev/urandom > random.bin
      printf 'C1CC\\n' > bad.smi; printf 'CCO\\n' > good.smi; mkdir ro; chmod 500 ro
      python3 -c "import sqlite3; c = sqlite3.connect('other.sqlite'); c.execute('create table t(x)'); c.commit()"
      """)
    let flat = TestSupport.corpus("uniprot/flat/P04439.txt").path
    let cases: [(args: [String], status: Int32)] = [
      (["ingest", "--catalog", "\(dir)/a.sqlite", flat], 0),
      (["ingest", "--catalog", "\(dir)/a.sqlite", "\(dir)/text.txt"], 1),
      (["ingest", "--catalog", "\(dir)/a.sqlite", "\(dir)/random.bin"], 1),
      (["ingest", "--catalog", "\(dir)/a.sqlite", "\(dir)/missing.dat"], 1),
      (["ingest", "--catalog", "/proc/no/such/dir/c.sqlite", flat], 74),
      (["ingest", "--catalog", "\(dir)/text.txt", flat], 74),
      (["ingest", "--catalog", "\(dir)/other.sqlite", flat], 74),
      (["ingest", "--no-such-option", flat], 64),
      (["catalog", "stats", "--catalog", "\(dir)/a.sqlite"], 0),
      (["catalog", "stats", "--catalog", "\(dir)/missing.sqlite"], 74),
      (["catalog", "dump", "--catalog", "\(dir)/text.txt"], 74),
      (["catalog", "quarantine", "--catalog", "\(dir)/other.sqlite"], 74),
      (["canon", "smiles", "\(dir)/good.smi"], 0),
      (["canon", "smiles", "\(dir)/bad.smi"], 1),
      (["canon", "smiles", "\(dir)/missing.smi"], 1),
      (["canon", "sdf", "\(dir)/random.bin"], 1),
      (["canon", "protein", "\(dir)/missing.fa"], 1),
      (["train", "--config", "\(dir)/missing.json", "--out", "\(dir)/run"], 78),
      (["train", "--config", "\(dir)/text.txt", "--out", "\(dir)/run"], 78),
    ]
    for c in cases {
      let r = try TestSupport.tagdata(c.args)
      #expect(r.status == c.status, "tagdata \(c.args.joined(separator: " ")): exit \(r.status), expected \(c.status): \(r.stderr)")
      if c.status != 0 { #expect(!r.stderr.isEmpty, "\(c.args): no message") }
      #expect(!r.stderr.contains("Fatal error"), "\(c.args)")
    }
    // The read-write ingest into a catalog in a read-only folder (root ignores permissions, so
    // only where they apply).
    if getuid() != 0 {
      let r = try TestSupport.tagdata(["ingest", "--catalog", "\(dir)/ro/c.sqlite", flat])
      #expect(r.status == 74, "\(r.stderr)")
    }
  }
}

/// A PubChem XML compound whose atom is not a chemical element is quarantined at the line of
/// that atom's element, not at the compound's first line.
@Suite struct DamageLineTests {
  @Test func pubchemXMLElementIsNamedAtItsLine() throws {
    let dir = TestSupport.tempDirectory()
    let catalog = dir.appendingPathComponent("c.sqlite").path
    _ = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", catalog, TestSupport.corpus("pubchem/xml/taxols.xml").path])
    let q = try TestSupport.tagdata(["catalog", "quarantine", "--catalog", catalog]).stdout
    let lines = q.split(separator: "\n").compactMap { row -> Int? in
      guard let r = row.range(of: ", line ") else { return nil }
      return Int(row[r.upperBound...].prefix { $0.isNumber })
    }
    let file = try String(contentsOf: TestSupport.corpus("pubchem/xml/taxols.xml"), encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 3, "\(q)")
    for l in lines { #expect(file[l - 1].contains("<PC-Element value=\"r\">253</PC-Element>"), "line \(l): \(file[l - 1])") }
  }
}

/// Two ingests of the same input into the same new catalog at once both succeed, and the
/// catalog is the one a single ingest makes (the source row is looked up again under the write
/// lock; every row written is idempotent).
@Suite struct ConcurrentSameInputTests {
  @Test func twoIngestsOfOneFileAtOnce() throws {
    let dir = TestSupport.tempDirectory().path
    let file = TestSupport.corpus("pubchem/sdf/pubchem-hard-set.sdf.gz").path
    _ = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", "\(dir)/one.sqlite", file])
    let single = try TestSupport.tagdata(["catalog", "dump", "--catalog", "\(dir)/one.sqlite"]).stdout
    for trial in 0..<3 {
      let catalog = "\(dir)/both\(trial).sqlite"
      let r = try TestSupport.shell("""
        '\(TestSupport.tagdataBinary)' ingest --quiet --catalog '\(catalog)' '\(file)' & a=$!
        '\(TestSupport.tagdataBinary)' ingest --quiet --catalog '\(catalog)' '\(file)'; b=$?
        wait $a; echo "$? $b"
        """)
      #expect(r.stdout.hasSuffix("0 0\n"), "trial \(trial): \(r.stdout) \(r.stderr)")
      #expect(try TestSupport.tagdata(["catalog", "dump", "--catalog", catalog]).stdout == single, "trial \(trial)")
    }
  }
}

extension DamageLineTests {
  /// A UniProt XML entry whose declared checksum does not match is quarantined at the line of
  /// its `<sequence>` element (libxml2's parser runs lines ahead of the node it hands out).
  @Test func uniprotXMLChecksumIsNamedAtTheSequenceLine() throws {
    let dir = TestSupport.tempDirectory()
    var text = try String(contentsOf: TestSupport.corpus("uniprot/xml/multi_ex.xml"), encoding: .utf8)
    let checksums = text.ranges(of: /checksum="[0-9A-F]{16}"/)
    try #require(checksums.count >= 3)
    let third = checksums[2]
    let sequenceLine = text[..<third.lowerBound].filter { $0 == "\n" }.count + 1
    text.replaceSubrange(third, with: "checksum=\"0000000000000000\"")
    let file = dir.appendingPathComponent("bad.xml")
    try Data(text.utf8).write(to: file)
    let catalog = dir.appendingPathComponent("c.sqlite").path
    _ = try TestSupport.tagdata(["ingest", "--quiet", "--catalog", catalog, file.path])
    let q = try TestSupport.tagdata(["catalog", "quarantine", "--catalog", catalog]).stdout
    #expect(q.contains("record 3, line \(sequenceLine),") && q.contains("CRC64 mismatch"), "line \(sequenceLine): \(q)")
  }
}
