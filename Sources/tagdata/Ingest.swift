import ArgumentParser
import Foundation
import TagdataBio
import TagdataCatalog
import TagdataIngest
import TagdataSources

#if canImport(Glibc)
import Glibc
#endif

struct Ingest: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Read protein, molecule and binding-measurement dumps, and labelled tables, into the catalog.",
    discussion: """
      Proteins: UniProtKB flat files (.dat), UniProt and UniRef XML, FASTA (UniProt headers or \
      free-form). Molecules: SD files and molfiles (V2000/V3000, e.g. PubChem's \
      Compound_*.sdf.gz), PubChem's CID-SMILES, PubChem XML and ASN.1 text (PC-Compounds, PC-Substances). \
      Binding measurements: BindingDB's BindingDB_All TSV (any release: columns are found by \
      name; often .tsv.zip). Each plain or compressed with gzip (multi-member too), bzip2 (multi-stream too) or zip; \
      the format is recognised from the content. Give any mix of files; `-` reads standard input.

      Protein records: the declared length and CRC64 are checked and the sequence canonicalized \
      and stored once per distinct sequence. Molecule records: the structure is read from the \
      connection table (stereo from wedges or coordinates) or the SMILES, and stored once per \
      canonical isomeric SMILES; PubChem's identifiers (CID, InChI, InChIKey, formula, weight) \
      are kept, and PubChem's own isomeric SMILES is canonicalized and compared (see the view \
      pubchem_smiles_disagreements). Every record keeps its provenance (file, record number, \
      line, byte offset); records that cannot be used go to the quarantine table with the reason.

      BindingDB rows: the ligand SMILES and every chain of the target are canonicalized into the \
      same molecules and proteins as other sources; each measurement (Ki, IC50, Kd, EC50 in nM, \
      kon, koff, pH, temperature) is kept with its relation (=, <, >, ~: censored values stay \
      bounds) and the cell as written; a cell that cannot be read is kept with its error.

      Tables (--preset or --columns): CSV (RFC 4180) or TSV files with a header row, read as the \
      mapping says: smiles and protein columns become the catalog's molecules and proteins; text, \
      language, number and id columns are kept with each row. Presets: tdc-dti \
      (Drug_ID,Drug,Target_ID,Target,Y), tdc-dti-patent (the same and Year, as TDC's \
      BindingDB_Patent), tdc-drugcomb (Drug1_ID,Drug1,Drug2_ID,Drug2,Cell_Line_ID,Y), \
      parallel-text (source_lang,source,target_lang,target). A row whose mapped cell is empty or \
      cannot be read is quarantined with the column and the reason.

      Partitions (--partition i/N, e.g. from a Slurm array): every partition plans the same \
      assignment of work units from the inputs (sorted by path; whole files balanced by size, \
      largest first; a large UniProt flat, SDF, FASTA, CID-SMILES or BindingDB file cut into byte \
      ranges at record boundaries, or, when it is a multi-member gzip (bgzip), into spans of whole \
      members; other compressed files, XML, ASN.1 and tables whole) and ingests its own units into \
      the catalog given, then writes CATALOG.partition.json (inputs, units, counts). \
      The N catalogs together hold every record once; `tagdata catalog merge --out ALL \
      part-*.sqlite` joins them into what one ingest gives (tagdata slurm runs both as Slurm jobs).

      Work is committed in batches. Re-running the same command after an interruption \
      (even kill -9) resumes where the last batch ended; running it on a file that is already \
      in the catalog changes nothing.

      Examples:
        tagdata ingest uniprot_sprot.dat.gz
        tagdata ingest --catalog proteins.sqlite Corpora/uniprot/*/*
        tagdata ingest Compound_000000001_000500000.sdf.gz CID-SMILES.gz
        zcat uniprot_trembl.dat.gz | tagdata ingest -
        tagdata ingest BindingDB_All_2022m5.tsv.zip
        tagdata ingest --preset tdc-dti bindingdb_kd.csv
        tagdata ingest --columns "smiles=smiles,pIC50=number,assay=id" my_assays.tsv
      """)

  @OptionGroup var catalogOptions: CatalogOptions

  @Option(help: "What to do with ambiguity codes B, Z, J, X: keep them, reject the record, or map B/Z/J to X.")
  var ambiguity = AmbiguityPolicy.keep

  @Option(help: "Records per committed batch.")
  var batchSize = 5000

  @Option(name: .shortAndLong, help: "Threads that read and canonicalize molecule structures (default: one per processor).")
  var jobs: Int?

  @Option(help: ArgumentHelp("Quarantine records larger than this many bytes of text (their bytes are skipped, not held in memory).",
                             valueName: "bytes"))
  var maxRecordBytes = 256 << 20

  @Option(help: ArgumentHelp("Quarantine molecules with more atoms than this.", valueName: "n"))
  var maxAtoms = 1_000_000

  @Option(help: ArgumentHelp("Read the files as tables in this layout: tdc-dti, tdc-dti-patent, tdc-drugcomb, parallel-text.",
                             valueName: "name"))
  var preset: String?

  @Option(help: ArgumentHelp("Read the files as tables with these columns: HEADER=KIND,... (kinds: smiles, protein, "
                               + "text, language, number, id).", valueName: "spec"))
  var columns: String?

  @Option(help: ArgumentHelp("Ingest only partition i of N (0 <= i < N) of the inputs, into this catalog (one catalog per "
                               + "partition; join them with `tagdata catalog merge`). Every partition plans alike: whole files "
                               + "balanced by size, and a large UniProt flat, SDF, FASTA, CID-SMILES or BindingDB file cut "
                               + "at record boundaries (byte ranges, or spans of whole members of a multi-member gzip).",
                             valueName: "i/N"))
  var partition: String?

  @Flag(help: "Print the per-file report as JSON on standard output.")
  var json = false

  @Flag(help: "No progress line, even on a terminal.")
  var quiet = false

  @Argument(help: ArgumentHelp("Input files; `-` for standard input.", valueName: "file"))
  var files: [String]

  func validate() throws {
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    if maxRecordBytes < 1024 || maxRecordBytes > 512 << 20 {
      throw ValidationError("--max-record-bytes must be between 1024 and \(512 << 20) (the catalog stores a field of at most 1 GB)")
    }
    if maxAtoms < 1 { throw ValidationError("--max-atoms must be at least 1") }
    if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input (-) can be read only once") }
    _ = try tableMapping()
    if let partition {
      do { _ = try PartitionSpec(parsing: partition) } catch { throw ValidationError("--partition \(error)") }
      if files.contains("-") { throw ValidationError("--partition cannot read standard input (-): give files") }
    }
  }

  /// The table mapping asked for, if any.
  func tableMapping() throws -> TableMapping? {
    switch (preset, columns) {
    case (nil, nil): return nil
    case (_?, _?): throw ValidationError("--preset and --columns exclude each other")
    case let (name?, nil):
      guard let m = TableMapping.presets[name] else {
        throw ValidationError("no table preset '\(name)' (presets: \(TableMapping.presets.keys.sorted().joined(separator: ", ")))")
      }
      return m
    case let (nil, spec?):
      do {
        return try TableMapping.parse(spec)
      } catch {
        throw ValidationError("--columns: \(error.description)")
      }
    }
  }

  func run() throws {
    let catalog = try Catalog(path: catalogOptions.catalog)
    var options = IngestOptions()
    options.batchSize = batchSize
    options.ambiguity = ambiguity
    if let jobs { options.workers = jobs }
    options.maxRecordBytes = maxRecordBytes
    options.maxAtoms = maxAtoms
    let ingestor = try Ingestor(catalog: catalog, options: options, arguments: CommandLine.arguments.joined(separator: " "))
    let tty = isatty(2) == 1 && !quiet
    if tty {
      ingestor.onProgress = { p in
        var line = "\(p.path): \(p.records) records"
        if p.quarantined > 0 { line += ", \(p.quarantined) quarantined" }
        let mb = Double(p.rawBytes) / 1e6
        line += ", \(format(mb, 1)) MB"
        if let total = p.totalBytes, total > 0 {
          let fraction = Double(p.rawBytes) / Double(total)
          line += " of \(format(Double(total) / 1e6, 1)) MB (\(Int(fraction * 100))%)"
          if fraction > 0.01 { line += ", ETA \(Int(p.seconds / fraction - p.seconds)) s" }
        }
        writeFD(2, "\r\u{1B}[K\(line)")
      }
    }
    var reports: [FileReport] = []
    let mapping = try tableMapping()
    if let partition {
      let spec = try PartitionSpec(parsing: partition)
      let plan: PartitionPlan
      do {
        plan = try PartitionPlan(files: files, partitions: spec.count, splitFiles: mapping == nil)
      } catch {
        warn("\(error)")
        throw ExitCode(1)
      }
      let units = plan.units(for: spec.index)
      // A manifest is written when every unit is done: an older one goes first.
      try? FileManager.default.removeItem(atPath: IngestPartitionManifest.path(catalog: catalogOptions.catalog))
      if !quiet && !json { warn("partition \(spec): \(units.count) of \(plan.assignments.count) work units") }
      for unit in units {
        let r = try ingestor.ingest(unit: unit, partition: spec, table: mapping)
        if tty { writeFD(2, "\r\u{1B}[K") }
        reports.append(r)
        if !json { warn(describe(r)) }
      }
    }
    for file in partition == nil ? files : [] {
      let r = try mapping.map { try ingestor.ingestTable(path: file, mapping: $0) } ?? ingestor.ingest(path: file)
      if tty { writeFD(2, "\r\u{1B}[K") }
      reports.append(r)
      if !json { warn(describe(r)) }
    }
    try ingestor.close()
    if let partition, !reports.contains(where: { $0.status == .failed }) {
      let spec = try PartitionSpec(parsing: partition)
      let plan = try PartitionPlan(files: files, partitions: spec.count, splitFiles: mapping == nil)
      try IngestPartitionManifest(plan: plan, spec: spec, reports: reports, catalog: catalogOptions.catalog)
        .write(catalog: catalogOptions.catalog)
    }
    if json {
      writeOut(try encodeJSON(reports) + "\n")
    }
    if reports.contains(where: { $0.status == .failed }) { throw ExitCode(1) }
  }

  func describe(_ r: FileReport) -> String {
    switch r.status {
    case .alreadyIngested:
      return "\(r.path): already in the catalog, nothing to do"
    case .failed where r.format == nil:
      return "\(r.path): not read\n  error: \(r.error ?? "")"
    case .complete, .failed:
      let kind = r.format.flatMap(InputFormat.init(rawValue:))?.kind
      var s = "\(r.path): \(r.records) records stored, \(r.quarantined) quarantined, "
      switch kind {
      case .molecule?: s += "\(r.newMolecules) new molecules"
      case .measurement?: s += "\(r.newMolecules) new molecules, \(r.newProteins) new proteins"
      case nil where r.format == "table": s += "\(r.newMolecules) new molecules, \(r.newProteins) new proteins"
      default: s += "\(r.newProteins) new proteins"
      }
      if let f = r.format { s += " [\(f)\(r.compression.map { $0 == "none" ? "" : ", \($0)" } ?? "")]" }
      if r.resumedAfter > 0 { s += " (resumed after \(r.resumedAfter) records)" }
      s += " in \(format(r.seconds, 2)) s"
      if let e = r.error { s += "\n  error: \(e)" }
      return s
    }
  }
}

func format(_ x: Double, _ digits: Int) -> String {
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let v = (x * scale).rounded() / scale
  var s = "\(v)"
  if let dot = s.firstIndex(of: ".") {
    let decimals = s.distance(from: dot, to: s.endIndex) - 1
    if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
  }
  return s
}
