import ArgumentParser
import TagdataCatalog

struct CatalogCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "catalog",
    abstract: "Inspect the catalog.",
    subcommands: [Stats.self, Dump.self, Quarantine.self])

  struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print row counts of the catalog.")
    @OptionGroup var catalogOptions: CatalogOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let catalog = try Catalog(path: catalogOptions.catalog, readOnly: true)
      let s = try catalog.stats()
      if json {
        writeOut(try encodeJSON(s) + "\n")
        return
      }
      var lines = [
        "catalog       \(catalogOptions.catalog)",
        "proteins      \(s.proteins) distinct sequences, \(s.residues) residues",
        "entries       \(s.entries) (\(s.reviewedEntries) reviewed), \(s.accessions) accessions, \(s.organisms) organisms",
        "comments      \(s.comments) free-text comments",
        "molecules     \(s.molecules) distinct structures, \(s.compounds) PubChem compounds, \(s.pubchemSmilesDisagreements) PubChem SMILES disagreements",
        "binding       \(s.bindingRecords) BindingDB rows, \(s.targets) targets, \(s.measurements) measurements (\(s.unreadableMeasurements) unreadable cells)",
        "labels        \(s.labels) labels (\(s.labelsWithoutValue) without a value) of \(s.labelNames.count) descriptors",
        "records       \(s.records) protein and \(s.moleculeRecords) molecule records with provenance, \(s.quarantined) quarantined",
        "sources       \(s.sources) files (\(s.sourcesComplete) complete), \(s.runs) runs",
      ]
      for (reason, n) in s.quarantineReasons.sorted(by: { $0.value > $1.value }) {
        lines.append("  quarantine  \(n)× \(reason)…")
      }
      writeOut(lines.joined(separator: "\n") + "\n")
    }
  }

  struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the catalog's content as sorted tab-separated lines.",
      discussion: """
        The dump is independent of row ids, run ids, times and paths (sources are named by the \
        SHA-256 of their decompressed content), so two catalogs with the same content give the \
        same dump: `diff <(tagdata catalog dump --catalog a.sqlite) <(tagdata catalog dump --catalog b.sqlite)`.

        One row per line, fields separated by tabs; an empty value is empty and NULL is ∅. Inside \
        a field, backslash, tab, line feed and carriage return are escaped as \\\\, \\t, \\n and \\r, so \
        every row is exactly one line. The dump is streamed from the catalog, in constant memory.
        """)
    @OptionGroup var catalogOptions: CatalogOptions
    @Flag(help: "Leave out provenance and quarantine lines.") var noProvenance = false

    func run() throws {
      let catalog = try Catalog(path: catalogOptions.catalog, readOnly: true)
      // Streamed row by row through a buffer: memory does not grow with the catalog.
      let out = OutputBuffer()
      try catalog.dump(provenance: !noProvenance) { line in
        out.write(line)
        if let e = out.failure { throw OutputError(what: "standard output", errno: e) }
      }
      out.flush()
      if let e = out.failure { throw OutputError(what: "standard output", errno: e) }
    }
  }

  struct Quarantine: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List quarantined records with file, record, line and reason.")
    @OptionGroup var catalogOptions: CatalogOptions

    func run() throws {
      let catalog = try Catalog(path: catalogOptions.catalog, readOnly: true)
      try catalog.forEachQuarantined { q in
        writeOut("\(q.path): record \(q.recordIndex + 1), line \(q.line), byte \(q.offset): \(q.reason) — \(q.excerpt)\n")
        return true
      }
    }
  }
}
