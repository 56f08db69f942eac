#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TagdataCatalog
import TagdataChem
import TagdataIngest

struct CatalogCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "catalog",
    abstract: "Inspect the catalog.",
    subcommands: [Stats.self, Dump.self, Quarantine.self, Merge.self, Groups.self])

  struct Groups: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Store each molecule's parent and scaffold, which leakage-free splits group by.",
      discussion: """
        Works out, for every molecule of the catalog stored without them, its parent (largest \
        component, neutralised, without stereo or isotopes) and its Bemis-Murcko scaffold, on \
        every core, and stores them (table molecule_groups). `tagdata build` then reads them \
        instead of working them out for each build: for a catalog of 41,718 ChEMBL drugs, about \
        3 seconds of CPU saved per build. Run it once after ingesting molecules (`tagdata run` \
        does); a build from a catalog without them works out what is missing. Interrupted, it \
        goes on where it stopped. Merged partition catalogs keep what their parts stored.

        Example:
          tagdata ingest --catalog c.sqlite --preset tdc-dti dti.csv
          tagdata catalog groups --catalog c.sqlite
        """)
    @OptionGroup var catalogOptions: CatalogOptions
    @Flag(help: "Print the counts as JSON.") var json = false
    @Flag(name: .shortAndLong, help: "No progress line.") var quiet = false

    func run() throws {
      // An existing catalog (opened to read first: a wrong path is an error, not a new empty catalog).
      _ = try TagdataCatalog.Catalog(path: catalogOptions.catalog, readOnly: true)
      let catalog = try TagdataCatalog.Catalog(path: catalogOptions.catalog)
      let tty = isatty(2) == 1 && !quiet && !json
      let done = try catalog.fillMoleculeGroups { n in
        if tty { writeFD(2, "\r\u{1B}[Kparents and scaffolds: \(n) molecules") }
      }
      if tty { writeFD(2, "\r\u{1B}[K") }
      let counts = try catalog.moleculeGroupCounts(version: MoleculeGroups.version)
      if json {
        writeOut("{\"worked_out\":\(done),\"stored\":\(counts.stored),\"missing\":\(counts.missing)}\n")
      } else if !quiet {
        warn("\(catalogOptions.catalog): parents and scaffolds of \(done) molecules worked out; \(counts.stored) stored in all")
      }
    }
  }

  struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Merge partition catalogs into one.",
      discussion: """
        Joins the catalogs of `tagdata ingest --partition i/N` (or any catalogs of this schema \
        version) into OUT, created if missing: proteins, entries, molecules, compounds, targets \
        and labels deduplicated by their canonical keys (sequence SHA-256, accession, canonical \
        SMILES, CID, target key), provenance rows by source and record. The byte ranges (or spans of gzip \
        members) of one file become one source again, its records and lines numbered as one read of the whole \
        file numbers them; every range must be among the parts, and the file is read once more \
        for the SHA-256 of its content (unless --no-hash). `tagdata catalog dump` of the result \
        equals that of a single ingest of the same inputs. Merging \
        a part again changes nothing. Runs in SQLite (ATTACH, INSERT … SELECT), one part at a time.

        Labels parts of `tagdata describe --catalog C --partition i/N --out PART` are merged into \
        C itself (--out C), all N of them and nothing else: each must have been made from C as it \
        is now; their labels replace missing or stale ones, as one `tagdata describe --catalog C`.

        Examples:
          for i in 0 1 2 3; do tagdata ingest --partition $i/4 --catalog part-$i.sqlite uniprot/*.dat; done
          tagdata catalog merge --out uniprot.sqlite part-*.sqlite
          for i in 0 1 2 3; do tagdata describe --catalog uniprot.sqlite --all --partition $i/4 --out labels-$i.sqlite; done
          tagdata catalog merge --out uniprot.sqlite labels-*.sqlite
        """)
    @Option(help: ArgumentHelp("The merged catalog (created if missing).", valueName: "catalog")) var out: String
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: ArgumentHelp("Do not read files merged from byte ranges to hash their content (their provenance is then "
                             + "dumped under `incomplete`).")) var noHash = false
    @Argument(help: ArgumentHelp("Partition catalogs.", valueName: "part")) var parts: [String]

    func validate() throws {
      if parts.isEmpty { throw ValidationError("give at least one partition catalog") }
    }

    func run() throws {
      let catalog = try TagdataCatalog.Catalog(path: out)
      let report: MergeReport
      do {
        try IngestPartitionSet.check(parts: parts)
        report = try catalog.merge(parts: parts, arguments: CommandLine.arguments.joined(separator: " "), now: Clock.isoNow())
      } catch let e as MergeError {
        warn("error: \(e)")
        throw ExitCode(74)
      } catch let e as TagdataCatalog.Catalog.LabelPartitionError {
        warn("error: \(e)")
        throw ExitCode(74)
      }
      // The content hash of a file read as byte ranges is that of the whole file: read it once.
      let unhashed = noHash ? [] : try MergedContentHash.fill(catalog)
      for path in unhashed { warn("\(path): changed or gone since it was ingested; its content hash is left empty") }
      if json {
        writeOut(try encodeJSON(report) + "\n")
      } else {
        warn("merged \(report.parts) catalogs into \(out): \(report.sources) sources (\(report.rangedFiles) read as byte ranges), "
             + "\(report.proteins) proteins, \(report.molecules) molecules")
      }
    }
  }

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
