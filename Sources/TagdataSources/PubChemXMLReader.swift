import CLibXML2
import TagdataChem
import TagdataIO

/// Streams `<PC-Compound>` records from PubChem XML (`<PC-Compounds>`, a lone `<PC-Compound>`,
/// or the compounds inside `<PC-Substances>`) with libxml2's pull reader, one compound in
/// memory at a time.
///
/// Each compound becomes a ``ConnectionTable``: atoms (element, charge, isotope, radical),
/// bonds (single, double, triple, dative; ionic bonds are left out, as the charges are on the
/// atoms), the first conformer's coordinates and its wedge annotations, so stereo comes from
/// the drawing as in a molfile. Properties give the CID, SMILES, InChI, InChIKey, formula and
/// weight. A compound whose structure cannot be read is malformed, with the reason; a bare
/// compound reference (an id without atoms) is not a record.
///
/// Compounds are cut from the bytes first (``XMLRecordSplitter``) and each is parsed on its
/// own: a compound that is not well-formed XML or nests elements deeper than ``maxDepth`` is
/// malformed, with the line, and the reader goes on at the next `<PC-Compound>`; one over the
/// record size limit is passed over unbuffered.
public final class PubChemXMLReader: MoleculeReader {
  public let format = MoleculeFormat.pubchemXML
  private let records: XMLRecordStream
  @exclusivity(unchecked) private var reader: xmlTextReaderPtr!
  private var piece: (line: Int, offset: Int64) { records.piece }
  /// Elements nested deeper than this inside a compound make it malformed (PubChem's go 8 deep).
  public static let maxDepth = 64
  private var recordIndex: Int {
    get { records.recordIndex }
    set { records.recordIndex = newValue }
  }
  @exclusivity(unchecked) private var stack: [String] = []
  @exclusivity(unchecked) private var compoundDepth = -1
  @exclusivity(unchecked) private var location = RecordLocation(index: 0, line: 0, offset: 0)
  @exclusivity(unchecked) private var text: [UInt8] = []
  @exclusivity(unchecked) private var c = PubChemCompound()

  public init(source: ByteSource, firstRecordIndex: Int = 0, limits: ReaderLimits = ReaderLimits()) throws {
    records = XMLRecordStream(source: source, element: "PC-Compound", noun: "compound", firstRecordIndex: firstRecordIndex,
                              limits: limits)
  }

  public func next() throws -> MoleculeEvent? { try records.next(parse: parse, malformed: { .malformed($0) }) }

  private func skipped(_ loc: RecordLocation, at: Int, _ reason: String) -> MoleculeEvent { .malformed(records.skipped(loc, at: at, reason)) }

  /// The line in the file where the pull reader's current node starts.
  private var fileLine: Int { records.nodeLine(reader) }

  /// Reads one compound's bytes: its record, malformed with the reason and line, or nil for a
  /// bare reference.
  private func parse(_ bytes: [UInt8]) -> MoleculeEvent? {
    location = RecordLocation(index: recordIndex, line: piece.line, offset: piece.offset)
    guard let doc = records.document(bytes) else {
      return skipped(location, at: piece.line, "cannot create the XML reader")
    }
    reader = doc.reader
    defer { reader = nil }
    stack = []
    compoundDepth = -1
    c = PubChemCompound()
    text.removeAll(keepingCapacity: true)
    while true {
      let status = xmlTextReaderRead(reader)
      if status == 0 {
        if compoundDepth >= 0 { return abandon("compound ends before its end tag") }
        return nil
      }
      if status < 0 {
        return abandon("XML error at \(doc.errorPlace(recordLine: piece.line, fallback: fileLine)): \(doc.errorMessage)",
                       line: doc.errorLine(recordLine: piece.line))
      }
      if compoundDepth >= 0 && stack.count - compoundDepth > Self.maxDepth {
        return abandon("elements nested deeper than \(Self.maxDepth) inside the compound at line \(fileLine)")
      }
      if let event = handleNode() { return event }
    }
  }

  private func abandon(_ reason: String, line: Int? = nil) -> MoleculeEvent {
    compoundDepth = -1
    defer { recordIndex += 1 }
    let excerpt = c.cid.map { "CID \($0)" } ?? "compound at line \(location.line)"
    return .malformed(MalformedRecord(location: location, line: line ?? fileLine, reason: reason, excerpt: excerpt))
  }

  private func handleNode() -> MoleculeEvent? {
    switch xmlTextReaderNodeType(reader) {
    case 1:
      let name = xmlTextReaderConstLocalName(reader).map { String(cString: $0) } ?? ""
      let empty = xmlTextReaderIsEmptyElement(reader) == 1
      if name == "PC-Compound" && compoundDepth < 0 {
        location = RecordLocation(index: recordIndex, line: piece.line, offset: piece.offset)
        c = PubChemCompound()
        if empty {
          compoundDepth = stack.count
          return finish()
        }
        compoundDepth = stack.count
      }
      if compoundDepth >= 0 { started(name) }
      if !empty { stack.append(name) } else if compoundDepth >= 0 { ended(name) }
      text.removeAll(keepingCapacity: true)
      return nil
    case 3, 4:
      if compoundDepth >= 0, let v = xmlTextReaderConstValue(reader) {
        var p = v
        while p.pointee != 0 { text.append(p.pointee); p += 1 }
      }
      return nil
    case 15:
      guard let name = stack.popLast() else { return nil }
      guard compoundDepth >= 0 else { return nil }
      if stack.count == compoundDepth && name == "PC-Compound" { return finish() }
      ended(name)
      text.removeAll(keepingCapacity: true)
      return nil
    default:
      return nil
    }
  }

  private func inside(_ name: String) -> Bool { stack[(compoundDepth + 1)...].contains(name) }

  private func started(_ name: String) {
    switch name {
    case "PC-Coordinates": c.coordinateBlocks += 1
    case "PC-Conformer": if c.coordinateBlocks == 1 { c.conformers += 1 }
    case "PC-InfoData": c.urnLabel = ""; c.urnName = ""; c.value = nil
    default: break
    }
  }

  private func ended(_ name: String) {
    let value = String(decoding: text, as: UTF8.self).trimmingCharacters()
    func int() -> Int? { Int(value) }
    let firstConformer = c.coordinateBlocks == 1 && c.conformers == 1
    switch name {
    case "PC-CompoundType_id_cid": c.cid = int()
    case "PC-Atoms_aid_E": c.aids.append(int() ?? -1)
    case "PC-Element":
      c.elements.append(int() ?? -1)
      c.elementLines.append(fileLine)
    case "PC-AtomInt_aid": c.intAid = int()
    case "PC-AtomInt_value":
      guard let aid = c.intAid, let v = int() else { c.problem = c.problem ?? "unreadable atom property"; break }
      if inside("PC-Atoms_charge") { c.charges.append((aid, v)) } else if inside("PC-Atoms_isotope") { c.isotopes.append((aid, v)) }
    case "PC-AtomRadical_aid": c.intAid = int()
    case "PC-AtomRadical_type":
      if let aid = c.intAid, let v = int() { c.radicals.append((aid, v == 2 ? 1 : (v == 255 ? 0 : 2))) }
    case "PC-Bonds_aid1_E": c.bondA.append(int() ?? -1)
    case "PC-Bonds_aid2_E": c.bondB.append(int() ?? -1)
    case "PC-BondType": c.bondTypes.append(int() ?? -1)
    case "PC-CoordinateType": if c.coordinateBlocks == 1 && int() == 2 { c.threeD = true }
    case "PC-Coordinates_aid_E": if c.coordinateBlocks == 1 { c.coordinateAids.append(int() ?? -1) }
    case "PC-Conformer_x_E": if firstConformer { c.xs.append(Double(value) ?? 0) }
    case "PC-Conformer_y_E": if firstConformer { c.ys.append(Double(value) ?? 0) }
    case "PC-Conformer_z_E": if firstConformer { c.zs.append(Double(value) ?? 0) }
    case "PC-BondAnnotation": if firstConformer { c.annotations.append(int() ?? -1) }
    case "PC-DrawAnnotations_aid1_E": if firstConformer { c.annotationA.append(int() ?? -1) }
    case "PC-DrawAnnotations_aid2_E": if firstConformer { c.annotationB.append(int() ?? -1) }
    case "PC-Urn_label": c.urnLabel = value
    case "PC-Urn_name": c.urnName = value
    case "PC-InfoData_value_sval", "PC-InfoData_value_fval", "PC-InfoData_value_ival": c.value = value
    case "PC-InfoData": if let v = c.value { c.props.append((c.urnLabel, c.urnName, v)) }
    default: break
    }
  }

  /// The record for the compound just read (nil for a bare reference).
  private func finish() -> MoleculeEvent? {
    compoundDepth = -1
    guard let event = c.event(location: location) else { return nil }
    recordIndex += 1
    return event
  }
}
