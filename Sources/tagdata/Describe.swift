import ArgumentParser
import TagdataBio
import TagdataCatalog
import TagdataChem
import TagdataIO
import TagdataIngest
import TagdataLabels
import TagdataSources

#if canImport(Glibc)
import Glibc
#endif

struct Describe: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compute descriptors (labels) of molecules or protein sequences.",
    discussion: """
      Molecule descriptors equal RDKit's (MolWt, ExactMolWt, formula, Lipinski donors and \
      acceptors, rotatable bonds, TPSA, Crippen logP and MR, ring counts, FractionCSP3, QED and its \
      weight variants) and include Bemis-Murcko scaffolds; protein descriptors equal Biopython's \
      ProteinAnalysis (length, mass, pI, GRAVY, aromaticity, instability index, ...) and the 88 \
      values of peptides' Peptide.descriptors() (BLOSUM1 first: Tag-LLM's <Descriptor> label). \
      Names are stable (tagdata describe --list); RDKit's names are accepted too (MolLogP, QED).

      From a file or standard input: SMILES one per line (anything after the first blank is the \
      id), FASTA records (the header's first word is the id), sequences one per line, or one \
      column of a TSV/CSV file with a header (--column; the row is passed through and the \
      descriptor columns appended). Output is TSV, or JSON Lines with --json. A descriptor that \
      is not defined for an input (an ambiguity code where the value depends on it) is left \
      empty (null in JSON) and its reason is given on standard error (in JSON, under "reasons"). \
      The exit code is 1 if some input could not be read at all.

      With --catalog, the catalog's molecules and proteins are labelled in its labels table: only \
      labels that are missing or were computed by another version of their definition are \
      computed, so running it again costs nothing.

      With --catalog and --partition i/N (Slurm: $SLURM_ARRAY_TASK_ID/N), one of N processes \
      labels the molecules and proteins whose id is i modulo N, reading the catalog only, into \
      its own labels part (--out, a new file; the same file again resumes an interrupted run). \
      `tagdata catalog merge --out CATALOG PARTS...` puts the parts' labels into the catalog they \
      were made from: every partition must be given, and each must come from that catalog as it \
      is (a part of another catalog, or of this one before an ingest changed it, is refused). The \
      result equals one `tagdata describe --catalog` run, `tagdata catalog dump` for dump.

      Examples:
        echo 'CC(=O)Oc1ccccc1C(=O)O aspirin' | tagdata describe --descriptors qed,logp,tpsa
        tagdata describe --kind protein --descriptors pi,gravy,BLOSUM1 proteins.fasta
        tagdata describe --all --column smiles compounds.csv > described.tsv
        tagdata describe --catalog tagdata.sqlite --descriptors qed,descriptor
        for i in 0 1 2; do tagdata describe --catalog tagdata.sqlite --all --partition $i/3 --out labels-$i.sqlite; done
        tagdata catalog merge --out tagdata.sqlite labels-*.sqlite
      """)

  @Option(help: ArgumentHelp("Comma-separated descriptor names (tagdata describe --list).", valueName: "names"))
  var descriptors: String?

  @Flag(help: "Every descriptor of the kind (with --catalog: of both kinds, unless --kind is given).")
  var all = false

  @Option(help: ArgumentHelp("What the input holds: molecule (SMILES) or protein. Default: from the descriptor names, "
                               + "else protein for FASTA input and molecule otherwise.", valueName: "kind"))
  var kind: String?

  @Option(help: "Describe this column of a TSV/CSV file with a header row.")
  var column: String?

  @Option(help: ArgumentHelp("Label the molecules and proteins of this catalog instead of reading a file.",
                             valueName: "path"))
  var catalog: String?

  @Option(help: ArgumentHelp("With --catalog: compute partition i of N (0 <= i < N) into --out, the catalog only read.",
                             valueName: "i/N"))
  var partition: String?

  @Option(help: ArgumentHelp("With --partition: the labels part to write (merge it with tagdata catalog merge).",
                             valueName: "path"))
  var out: String?

  @Flag(help: "List the descriptors: name, kind, version, reference, meaning.")
  var list = false

  @Flag(help: "JSON Lines output (one object per input; with --catalog or --list, one JSON document).")
  var json = false

  @Flag(help: "No progress line, even on a terminal.")
  var quiet = false

  @Argument(help: ArgumentHelp("Input file, or - for standard input.", valueName: "file"))
  var input = "-"

  func validate() throws {
    if list { return }
    if descriptors == nil && !all { throw ValidationError("name the descriptors (--descriptors a,b,...) or give --all") }
    if descriptors != nil && all { throw ValidationError("--descriptors and --all exclude each other") }
    if let kind, LabelKind(rawValue: kind) == nil { throw ValidationError("--kind must be molecule or protein") }
    if catalog != nil && (column != nil || input != "-") { throw ValidationError("--catalog reads no input file") }
    if partition != nil && (catalog == nil || out == nil) {
      throw ValidationError("--partition labels a catalog (--catalog) into a labels part (--out)")
    }
    if out != nil && partition == nil { throw ValidationError("--out is the labels part of a --partition") }
    if let partition {
      do { _ = try PartitionSpec(parsing: partition) } catch { throw ValidationError("--partition \(error)") }
    }
  }

  func run() throws {
    if list { return try listDescriptors() }
    let kindOption = kind.flatMap(LabelKind.init(rawValue:))
    if let catalog { return try labelCatalog(catalog, kind: kindOption) }
    let opened = try openInput(input)
    // The first decoded bytes, to tell FASTA from other text; replayed before the rest.
    let head = try opened.source.readPrefix(4096)
    let source = PrefixedSource(prefix: head, inner: opened.source)
    // The kind: as asked, else from the names, else from the input.
    var chosen: [DescriptorInfo]
    let inputKind: LabelKind
    if let descriptors {
      do {
        chosen = try DescriptorRegistry.resolve(descriptors, kind: kindOption)
      } catch {
        throw ValidationError(error.description)
      }
      let kinds = Set(chosen.map(\.kind))
      if kinds.count > 1 {
        throw ValidationError("the descriptors are of both kinds: give --kind (\(chosen.map(\.name).joined(separator: ",")))")
      }
      inputKind = kindOption ?? kinds.first ?? .molecule
      // A name both kinds know (mol_wt) resolves to the molecule one; FASTA input means proteins.
      if kindOption == nil && inputKind == .molecule && Self.looksLikeFASTA(head) {
        if let again = try? DescriptorRegistry.resolve(descriptors, kind: .protein) { chosen = again }
        return try describeFile(source, head: head, kind: .protein, chosen)
      }
    } else {
      inputKind = kindOption ?? (Self.looksLikeFASTA(head) ? .protein : .molecule)
      chosen = DescriptorRegistry.descriptors(of: inputKind)
    }
    try describeFile(source, head: head, kind: inputKind, chosen)
  }

  static func looksLikeFASTA(_ head: [UInt8]) -> Bool {
    var i = 0
    if head.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    while i < head.count && (head[i] == 0x0A || head[i] == 0x0D || head[i] == 0x20) { i += 1 }
    return i < head.count && head[i] == UInt8(ascii: ">")
  }

  // MARK: Files

  private func describeFile(_ source: ByteSource, head: [UInt8], kind: LabelKind, _ chosen: [DescriptorInfo]) throws {
    let out = OutputBuffer()
    let name = source.name
    var unreadable = 0
    let molecules = kind == .molecule ? MoleculeLabeler(chosen) : nil
    let proteins = kind == .protein ? ProteinLabeler(chosen) : nil
    let canonicalizer = ProteinCanonicalizer()
    /// Values of one input text, or nil (and a warning) when it cannot be read at all.
    func values(_ text: ArraySlice<UInt8>, line: Int) -> [LabelValue]? {
      if let molecules {
        do {
          return molecules.label(try Smiles.read(bytes: Array(text)))
        } catch {
          unreadable += 1
          warn("\(name): line \(line): \(String(decoding: text, as: UTF8.self)): \(error)")
          return nil
        }
      }
      let canonical = text.withUnsafeBufferPointer { canonicalizer.canonicalize($0) }
      switch canonical {
      case let .success(residues): return proteins!.label(sequence: residues)
      case let .failure(error):
        unreadable += 1
        warn("\(name): line \(line): \(error)")
        return nil
      }
    }
    func reportMissing(_ values: [LabelValue], id: String, line: Int) {
      // One line per distinct reason, with the descriptors it takes away.
      var reasons: [(reason: String, names: [String])] = []
      for (d, v) in zip(chosen, values) {
        guard case let .missing(reason) = v else { continue }
        if let k = reasons.firstIndex(where: { $0.reason == reason }) {
          reasons[k].names.append(d.name)
        } else {
          reasons.append((reason, [d.name]))
        }
      }
      for r in reasons {
        let names = r.names.count <= 3 ? r.names.joined(separator: ", ") : "\(r.names[0]) and \(r.names.count - 1) more"
        warn("\(name): line \(line) (\(id)): no \(names): \(r.reason)")
      }
    }
    func cell(_ v: LabelValue) -> String {
      switch v {
      case let .number(x): return Self.number(x)
      case let .text(t): return t
      case .missing: return ""
      }
    }
    func jsonLine(id: String, input: String?, _ values: [LabelValue]?, error: String? = nil) {
      var s = "{\"id\":\(JSONString.quoted(id))"
      if let input { s += ",\"input\":\(JSONString.quoted(input))" }
      if let values {
        s += ",\"values\":{"
        var reasons: [String] = []
        for (k, (d, v)) in zip(chosen, values).enumerated() {
          if k > 0 { s += "," }
          s += JSONString.quoted(d.name) + ":"
          switch v {
          case let .number(x): s += x.isFinite ? Self.number(x) : "null"
          case let .text(t): s += JSONString.quoted(t)
          case let .missing(reason):
            s += "null"
            reasons.append(JSONString.quoted(d.name) + ":" + JSONString.quoted(reason))
          }
        }
        s += "}"
        if !reasons.isEmpty { s += ",\"reasons\":{" + reasons.joined(separator: ",") + "}" }
      } else {
        s += ",\"values\":null,\"error\":\(JSONString.quoted(error ?? "not read"))"
      }
      out.write(s + "}\n")
    }

    if let column {
      let table = try DelimitedReader(source: source)
      guard let index = table.column(column) else {
        throw ValidationError("no column '\(column)' in the header (\(table.header.joined(separator: ", ")))")
      }
      let dialect = table.dialect
      func writeRow(_ fields: [[UInt8]]) {
        out.write(Array(fields.map { DelimitedReader.quoted($0, dialect: dialect) }.joined(separator: [dialect.separator])))
        out.write("\n")
      }
      if !json { writeRow(table.header.map { Array($0.utf8) } + chosen.map { Array($0.name.utf8) }) }
      while let event = try table.next() {
        switch event {
        case let .row(row):
          let text = row.fields[index]
          let v = text.isEmpty ? nil : values(text[...], line: row.line)
          if let v { reportMissing(v, id: "row at line \(row.line)", line: row.line) }
          if json {
            jsonLine(id: String(row.line), input: String(decoding: text, as: UTF8.self), v, error: "not read")
          } else {
            writeRow(row.fields + (v?.map { Array(cell($0).utf8) } ?? chosen.map { _ in [] }))
          }
        case let .malformed(damage):
          unreadable += 1
          warn("\(damage)")
        }
      }
    } else if kind == .protein && Self.looksLikeFASTA(head) {
      let reader = FastaReader(lines: LineReader(source))
      if !json { out.write((["id"] + chosen.map(\.name)).joined(separator: "\t") + "\n") }
      var arena = ProteinArena()
      while let event = try reader.next(into: &arena) {
        defer { arena.removeAll() }
        switch event {
        case let .malformed(m):
          unreadable += 1
          warn("\(name): line \(m.line): \(m.reason)")
        case let .record(p):
          let id = arena.string(p.label) ?? ""
          let raw = arena.bytes[Int(max(0, p.sequence.start))..<Int(max(0, p.sequence.start + max(0, p.sequence.count)))]
          let v = values(raw, line: p.location.line)
          if let v { reportMissing(v, id: id, line: p.location.line) }
          if json {
            jsonLine(id: id, input: nil, v)
          } else if let v {
            out.write(([id] + v.map(cell)).joined(separator: "\t") + "\n")
          } else {
            out.write(([id] + chosen.map { _ in "" }).joined(separator: "\t") + "\n")
          }
        }
      }
    } else {
      let lines = LineReader(source)
      if !json {
        out.write((["id", kind == .molecule ? "smiles" : "sequence"] + chosen.map(\.name)).joined(separator: "\t") + "\n")
      }
      while let l = try lines.nextLine() {
        let bytes = Array(l)
        let end = kind == .molecule ? SmilesParser.recordLength(bytes) : (bytes.firstIndex(where: { $0 == 0x20 || $0 == 0x09 }) ?? bytes.count)
        if end == 0 { continue }
        var restStart = end
        while restStart < bytes.count && (bytes[restStart] == 0x20 || bytes[restStart] == 0x09) { restStart += 1 }
        let id = restStart < bytes.count ? String(decoding: bytes[restStart...], as: UTF8.self) : String(lines.lineNumber)
        let text = String(decoding: bytes[0..<end], as: UTF8.self)
        let v = values(bytes[0..<end], line: lines.lineNumber)
        if let v { reportMissing(v, id: id, line: lines.lineNumber) }
        if json {
          jsonLine(id: id, input: text, v)
        } else {
          out.write(([id, text] + (v?.map(cell) ?? chosen.map { _ in "" })).joined(separator: "\t") + "\n")
        }
      }
    }
    out.flush()
    if let failure = out.failure { throw OutputError(what: "standard output", errno: failure) }
    if unreadable > 0 {
      warn("\(unreadable) input\(unreadable == 1 ? "" : "s") could not be read")
      throw ExitCode(1)
    }
  }

  // MARK: Catalog

  private func labelCatalog(_ path: String, kind: LabelKind?) throws {
    var chosen: [DescriptorInfo]
    if let descriptors {
      do {
        chosen = try DescriptorRegistry.resolve(descriptors, kinds: kind.map { [$0] } ?? LabelKind.allCases)
      } catch {
        throw ValidationError(error.description)
      }
    } else {
      chosen = kind.map(DescriptorRegistry.descriptors(of:)) ?? DescriptorRegistry.all
    }
    let tty = isatty(2) == 1 && !quiet
    let progress: (LabelKind, Int) -> Void = { kind, done in
      if tty { writeFD(2, "\r\u{1B}[K\(kind.rawValue)s labelled: \(done)") }
    }
    let arguments = CommandLine.arguments.joined(separator: " ")
    let summary: [LabelKind: CatalogLabeling.Summary]
    if let partition, let out {
      // The catalog is only read; the labels go into the part.
      let spec = try PartitionSpec(parsing: partition)
      let catalog = try Catalog(path: path, readOnly: true)
      let part = try Catalog(path: out)
      let run = try part.beginRun(toolVersion: tagdataVersion, arguments: arguments, now: Clock.isoNow())
      do {
        summary = try CatalogLabeling.labelPartition(catalog, catalogPath: path, into: part, partPath: out, chosen,
                                                     partition: (spec.index, spec.count), run: run, progress: progress)
      } catch let e as Catalog.LabelPartitionError {
        warn("error: \(e)")
        throw ExitCode(74)
      }
      try part.finishRun(run, now: Clock.isoNow())
    } else {
      let catalog = try Catalog(path: path)
      let run = try catalog.beginRun(toolVersion: tagdataVersion, arguments: arguments, now: Clock.isoNow())
      summary = try CatalogLabeling.label(catalog, chosen, run: run, progress: progress)
      try catalog.finishRun(run, now: Clock.isoNow())
    }
    if tty { writeFD(2, "\r\u{1B}[K") }
    if json {
      var parts: [String] = []
      for k in LabelKind.allCases {
        guard let s = summary[k] else { continue }
        parts.append("\"\(k.rawValue)\":{\"entities\":\(s.entities),\"values\":\(s.values),\"missing\":\(s.missing)}")
      }
      writeOut("{" + parts.joined(separator: ",") + "}\n")
    } else {
      for k in LabelKind.allCases {
        guard let s = summary[k] else { continue }
        let names = chosen.filter { $0.kind == k }.count
        warn("\(out ?? path): \(k.rawValue)s: \(s.entities) labelled (\(names) descriptors), \(s.values) values, "
          + "\(s.missing) without a value" + (s.entities == 0 ? " (all up to date)" : ""))
      }
    }
  }

  // MARK: List

  private func listDescriptors() throws {
    let kinds = kind.flatMap(LabelKind.init(rawValue:)).map { [$0] } ?? LabelKind.allCases
    let rows = kinds.flatMap(DescriptorRegistry.descriptors(of:))
    if json {
      let items = rows.map { d in
        "{\"name\":\(JSONString.quoted(d.name)),\"kind\":\"\(d.kind.rawValue)\",\"version\":\(JSONString.quoted(d.version)),"
          + "\"reference\":\(JSONString.quoted(d.reference)),\"summary\":\(JSONString.quoted(d.summary)),"
          + "\"aliases\":[\(d.aliases.map(JSONString.quoted).joined(separator: ","))]}"
      }
      writeOut("[\n" + items.joined(separator: ",\n") + "\n]\n")
      return
    }
    var text = "name\tkind\tversion\treference\tmeaning\n"
    for d in rows { text += "\(d.name)\t\(d.kind.rawValue)\t\(d.version)\t\(d.reference)\t\(d.summary)\n" }
    writeOut(text)
  }

  // MARK: Formatting

  /// A number as the shortest decimal that reads back to the same double.
  static func number(_ x: Double) -> String {
    if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
  }
}
