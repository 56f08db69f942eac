import Foundation
import TagdataCatalog
import TestSupport
import Testing

@Suite struct DumpTests {
  /// Undoes the dump's escaping of one field.
  static func unescape(_ field: Substring) -> String {
    var out = "", escaped = false
    for c in field {
      if escaped {
        switch c {
        case "t": out.append("\t")
        case "n": out.append("\n")
        case "r": out.append("\r")
        default: out.append(c)
        }
        escaped = false
      } else if c == "\\" {
        escaped = true
      } else {
        out.append(c)
      }
    }
    return out
  }

  /// Fields holding tabs, line feeds, carriage returns and backslashes stay on their row's
  /// line and read back exactly (a line feed in a field split the row in two).
  @Test func fieldsWithTabsNewlinesAndBackslashesRoundTrip() throws {
    let path = TestSupport.tempDirectory().appendingPathComponent("c.sqlite").path
    let catalog = try Catalog(path: path)
    let nasty = "a\tb\nc\r\nd\\e\\\\t\\n end"
    try catalog.db.execute("INSERT INTO proteins(id, sha256, crc64, length, sequence) VALUES (1, zeroblob(32), 'C', 3, 'MKV')")
    let s = try catalog.db.prepare("INSERT INTO entries(protein_id, accession, protein_name, gene) VALUES (1, 'P1', ?, ?)")
    try s.run([.text(nasty), .text("")])
    for lines in [try catalog.dump(provenance: false),
                  try TestSupport.tagdata(["catalog", "dump", "--catalog", path]).stdout.split(separator: "\n", omittingEmptySubsequences: false)
                    .dropLast().map(String.init)] {
      let entries = lines.filter { $0.hasPrefix("entry\t") }
      try #require(entries.count == 1, "\(lines)")
      let fields = entries[0].split(separator: "\t", omittingEmptySubsequences: false)
      #expect(fields.count == 18)  // entry, its 15 fields up to the declared mass, the checksum kind and value
      #expect(Self.unescape(fields[5]) == nasty, "\(fields[5])")
      #expect(fields[6] == "" && fields[3] == "∅")
      #expect(lines.count == 2)
    }
  }

  /// `catalog dump` streams: its peak memory does not grow with the catalog (a 1.2M-record
  /// catalog took 644 MB, the whole dump held in memory).
  @Test func dumpMemoryStaysBounded() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
      Issue.record("/usr/bin/time is needed to measure peak memory")
      return
    }
    let dir = TestSupport.tempDirectory().path
    func peak(_ catalog: String) throws -> (kilobytes: Int, bytes: Int) {
      let r = try TestSupport.shell("/usr/bin/time -f '%M' '\(TestSupport.tagdataBinary)' catalog dump --catalog '\(catalog)' 2>'\(dir)/rss' | wc -c")
      let rss = try String(contentsOfFile: dir + "/rss", encoding: .utf8).split(separator: "\n").last.flatMap { Int($0) } ?? -1
      return (rss, Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1)
    }
    func make(_ name: String, rows: Int) throws -> String {
      let path = dir + "/" + name
      let c = try Catalog(path: path)
      try c.db.execute("""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
        INSERT INTO proteins(sha256, crc64, length, sequence) SELECT randomblob(32), printf('%016X', i), 250, hex(randomblob(125)) FROM n
        """)
      return path
    }
    let small = try peak(try make("small.sqlite", rows: 1_000))
    let large = try peak(try make("large.sqlite", rows: 200_000))
    #expect(large.bytes > 60_000_000, "\(large)")
    // 60 MB of output; the process grows by a few MB at most over a 1,000-row dump.
    #expect(large.kilobytes < small.kilobytes + 16_000, "peak RSS \(large.kilobytes) kB for the large dump, \(small.kilobytes) kB for the small one")
  }
}
