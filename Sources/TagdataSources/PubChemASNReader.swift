import TagdataChem
import TagdataIO

/// Streams compounds from PubChem's ASN.1 text (value notation, `.asn`): a `PC-Compound ::=`
/// value, a `PC-Compounds ::=` list, or `PC-Substances ::=` / `PC-Substance ::=` with the
/// compounds inside. The schema is the one PubChem XML renders, so each compound fills the same
/// ``PubChemCompound`` as the XML reader and the same compound gives the same record.
///
/// One list element (a compound, or a substance with its compounds) is parsed into a small
/// value tree at a time, so memory follows the largest record, not the file. A syntax error
/// inside a record makes that record malformed (with the line) and ends the file with an
/// error naming the line; records before it are kept.
public final class PubChemASNReader: MoleculeReader {
  public let format = MoleculeFormat.pubchemASN
  private let tokens: ASNTokenizer
  @exclusivity(unchecked) private var recordIndex: Int
  @exclusivity(unchecked) private var pending: [MoleculeEvent] = []
  /// The next of `pending` to hand out (a substance may hold many compounds).
  @exclusivity(unchecked) private var pendingNext = 0
  /// What the current top-level list holds, while inside one.
  @exclusivity(unchecked) private var listOf: ListKind?
  @exclusivity(unchecked) private var failed: Error?
  @exclusivity(unchecked) private var finished = false

  private enum ListKind { case compounds, substances }

  private let limits: ReaderLimits

  public init(source: ByteSource, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) {
    tokens = ASNTokenizer(source)
    recordIndex = firstRecordIndex
    self.limits = limits
  }

  public func next() throws -> MoleculeEvent? {
    while true {
      if pendingNext < pending.count {
        pendingNext += 1
        return pending[pendingNext - 1]
      }
      pending.removeAll(keepingCapacity: true)
      pendingNext = 0
      if let f = failed {
        failed = nil
        finished = true
        throw f
      }
      if finished { return nil }
      do {
        try advance()
      } catch let e as ASNSyntaxError {
        finished = true
        throw ASNError(file: tokens.name, line: e.line, message: e.message)
      }
    }
  }

  /// Reads the next list element (or top-level value) and queues its records.
  private func advance() throws {
    if listOf == nil {
      // `Type ::= value`, possibly several in one file.
      let t = try tokens.next()
      if case .end = t.kind {
        finished = true
        return
      }
      guard case let .identifier(type) = t.kind else { throw tokens.error(t, "expected a type name like PC-Compounds") }
      let assign = try tokens.next()
      guard case .assign = assign.kind else { throw tokens.error(assign, "expected ::= after \(type)") }
      switch type {
      case "PC-Compound", "PC-Substance":
        try element(single: type == "PC-Compound" ? .compounds : .substances)
      case "PC-Compounds", "PC-Substances":
        let open = try tokens.next()
        guard case .open = open.kind else { throw tokens.error(open, "expected { after ::=") }
        listOf = type == "PC-Compounds" ? .compounds : .substances
        if case .close = try tokens.peek().kind {
          _ = try tokens.next()
          listOf = nil
        }
      default:
        throw tokens.error(t, "\(type) is not a PubChem compound or substance type")
      }
      return
    }
    try element(single: nil)
    if failed != nil { return }
    let t = try tokens.next()
    switch t.kind {
    case .comma: break
    case .close: listOf = nil
    default: throw tokens.error(t, "expected , or } between list elements")
    }
  }

  /// Parses one compound or substance value and queues the compounds it holds. A syntax error
  /// inside it queues a malformed record, then the error.
  private func element(single: ListKind?) throws {
    let kind = single ?? listOf!
    let start = try tokens.peek()
    // Braces open before this value (the peeked token counts already).
    let outside = tokens.depth - (start.isOpen ? 1 : 0)
    let value: ASNValue
    tokens.recordStart = start.offset
    tokens.maxRecordBytes = limits.maxRecordBytes
    defer { tokens.recordStart = nil }
    do {
      value = try ASNValue.parse(tokens)
    } catch let e as ASNSyntaxError {
      let loc = RecordLocation(index: recordIndex, line: start.line, offset: start.offset)
      recordIndex += 1
      let reason = e.tooLarge ? limits.tooLarge(line: e.line) : "ASN.1 syntax at line \(e.line): \(e.message)"
      pending.append(.malformed(MalformedRecord(location: loc, line: e.line, reason: reason,
                                                excerpt: "record at line \(start.line)")))
      if e.resumable && tokens.depth > outside {
        // Nesting too deep or a record too large: its braces are still balanced, so the rest of
        // it is passed over token by token (nothing kept), and the next record is read.
        tokens.recordStart = nil
        tokens.discarding = true
        defer { tokens.discarding = false }
        tokens.dropLookahead()
        do {
          while tokens.depth > outside {
            if case .end = try tokens.next().kind {
              // Unbalanced after all: the input ends inside the value.
              failed = ASNError(file: tokens.name, line: e.line, message: "\(e.message); the input ends inside this value")
              return
            }
          }
          return
        } catch let again as ASNSyntaxError {
          failed = ASNError(file: tokens.name, line: again.line, message: again.message)
          return
        }
      }
      failed = ASNError(file: tokens.name, line: e.line, message: e.message)
      return
    }
    var compounds: [ASNValue] = []
    switch kind {
    case .compounds: compounds = [value]
    case .substances:
      // A substance's `compound` field is a list of compounds; a field holding one compound
      // directly is taken as that compound.
      for field in value.fields("compound") {
        if field.isFieldList { compounds.append(field) } else { compounds += field.elements }
      }
    }
    for compound in compounds {
      let loc = RecordLocation(index: recordIndex, line: start.line, offset: start.offset)
      var c = Self.compound(compound)
      if !compound.isFieldList && c.problem == nil { c.problem = "not a PC-Compound value (expected a list of fields)" }
      guard let event = c.event(location: loc) else { continue }
      recordIndex += 1
      pending.append(event)
    }
  }

  // MARK: - Mapping the value tree

  static func compound(_ v: ASNValue) -> PubChemCompound {
    var c = PubChemCompound()
    c.cid = v.field("id")?.field("id")?.choice("cid")?.int
    if let atoms = v.field("atoms") {
      c.aids = atoms.field("aid")?.elements.map { $0.int ?? -1 } ?? []
      c.elements = atoms.field("element")?.elements.map { element($0) } ?? []
      // `charge { { aid 2, value -1 } }`, the same for isotopes.
      func values(_ name: String) -> [(Int, Int)] {
        (atoms.field(name)?.elements ?? []).compactMap { item in
          guard let aid = item.field("aid")?.int, let value = item.field("value")?.int else {
            c.problem = c.problem ?? "unreadable atom \(name)"
            return nil
          }
          return (aid, value)
        }
      }
      c.charges = values("charge")
      c.isotopes = values("isotope")
      for item in atoms.field("radical")?.elements ?? [] {
        guard let aid = item.field("aid")?.int, let type = item.field("type")?.identifier else { continue }
        c.radicals.append((aid, type == "doublet" ? 1 : (type == "none" ? 0 : 2)))
      }
    }
    if let bonds = v.field("bonds") {
      c.bondA = bonds.field("aid1")?.elements.map { $0.int ?? -1 } ?? []
      c.bondB = bonds.field("aid2")?.elements.map { $0.int ?? -1 } ?? []
      c.bondTypes = bonds.field("order")?.elements.map { bondType($0.identifier ?? "") } ?? []
    }
    if let first = v.field("coords")?.elements.first {
      c.coordinateBlocks = 1
      c.threeD = first.field("type")?.elements.contains { $0.identifier == "threed" } ?? false
      c.coordinateAids = first.field("aid")?.elements.map { $0.int ?? -1 } ?? []
      if let conformer = first.field("conformers")?.elements.first {
        c.conformers = 1
        c.xs = conformer.field("x")?.elements.map { $0.real ?? .nan } ?? []
        c.ys = conformer.field("y")?.elements.map { $0.real ?? .nan } ?? []
        c.zs = conformer.field("z")?.elements.map { $0.real ?? .nan } ?? []
        if c.xs.contains(where: \.isNaN) || c.ys.contains(where: \.isNaN) || c.zs.contains(where: \.isNaN) {
          c.problem = c.problem ?? "unreadable coordinate"
        }
        if let style = conformer.field("style") {
          c.annotations = style.field("annotation")?.elements.map { annotation($0.identifier ?? "") } ?? []
          c.annotationA = style.field("aid1")?.elements.map { $0.int ?? -1 } ?? []
          c.annotationB = style.field("aid2")?.elements.map { $0.int ?? -1 } ?? []
        }
      }
    }
    for p in v.field("props")?.elements ?? [] {
      let urn = p.field("urn")
      guard let label = urn?.field("label")?.string, let value = p.field("value") else { continue }
      let text: String?
      if let s = value.choice("sval")?.string {
        text = s
      } else if let i = value.choice("ival")?.int {
        text = String(i)
      } else if let r = value.choice("fval")?.real {
        text = String(r)
      } else {
        text = nil
      }
      if let text { c.props.append((label, urn?.field("name")?.string ?? "", text)) }
    }
    return c
  }

  /// Atomic number of an ASN element name (`c`, `cl`); PubChem's non-element atoms (`a` any,
  /// `d` dummy, `r` R-group, `lp` lone pair, `unknown`) map above 118, to be quarantined.
  static func element(_ v: ASNValue) -> Int {
    guard let name = v.identifier else { return v.int ?? -1 }
    guard let first = name.first else { return -1 }
    let symbol = first.uppercased() + name.dropFirst()
    if let z = PeriodicTable.number(of: symbol), z >= 1 { return z }
    switch name {
    case "a": return 252
    case "d": return 253
    case "r": return 254
    case "lp": return 251
    default: return 255
    }
  }

  static func bondType(_ name: String) -> Int {
    switch name {
    case "single": return 1
    case "double": return 2
    case "triple": return 3
    case "quadruple": return 4
    case "dative": return 5
    case "complex": return 6
    case "ionic": return 7
    default: return 255
    }
  }

  static func annotation(_ name: String) -> Int {
    switch name {
    case "crossed": return 1
    case "dashed": return 2
    case "wavy": return 3
    case "dotted": return 4
    case "wedge-up": return 5
    case "wedge-down": return 6
    default: return 255
    }
  }
}
