import TagdataChem

/// One PubChem compound as its XML and ASN.1 forms state it (the two share one schema): atom
/// ids and elements, charges, isotopes, radicals, bonds, the first coordinate set's first
/// conformer with its bond annotations, and the information properties. The readers fill it;
/// ``event(location:)`` turns it into a record.
///
/// Enumerations are kept as PubChem numbers them: elements by atomic number (PubChem's codes for
/// dummy, R-group and unknown atoms are above 118), bond types 1 single, 2 double, 3 triple,
/// 4 quadruple, 5 dative, 6 complex, 7 ionic; bond annotations 3 wavy, 5 wedge up, 6 wedge down;
/// coordinate type 2 for 3D.
struct PubChemCompound {
  var cid: Int?
  var aids: [Int] = []
  var elements: [Int] = []
  /// The line of each element value, where the reader knows it (XML), to name damage there.
  var elementLines: [Int] = []
  var intAid: Int?
  var charges: [(Int, Int)] = []
  var isotopes: [(Int, Int)] = []
  var radicals: [(Int, Int)] = []
  var bondA: [Int] = []
  var bondB: [Int] = []
  var bondTypes: [Int] = []
  var coordinateBlocks = 0
  var conformers = 0
  var threeD = false
  var coordinateAids: [Int] = []
  var xs: [Double] = [], ys: [Double] = [], zs: [Double] = []
  var annotations: [Int] = []
  var annotationA: [Int] = []
  var annotationB: [Int] = []
  var urnLabel = "", urnName = "", value: String?
  var props: [(label: String, name: String, value: String)] = []
  var problem: String?

  /// The record for this compound; nil for a bare reference (a `PC-Compound` with an id and no
  /// atoms, as substances carry for their standardized compounds), which is no record.
  func event(location: RecordLocation) -> MoleculeEvent? {
    let c = self
    if c.aids.isEmpty && c.elements.isEmpty && c.problem == nil { return nil }
    func bad(_ reason: String, line: Int? = nil) -> MoleculeEvent {
      .malformed(MalformedRecord(location: location, line: line ?? location.line, reason: reason,
                                 excerpt: c.cid.map { "CID \($0)" } ?? "compound at line \(location.line)"))
    }
    if let p = c.problem { return bad(p) }
    guard c.aids.count == c.elements.count else { return bad("atom ids and elements differ in number") }
    guard c.bondA.count == c.bondB.count, c.bondA.count == c.bondTypes.count else {
      return bad("bond lists differ in length")
    }
  var index: [Int: Int] = [:]
  var table = ConnectionTable()
    for (k, aid) in c.aids.enumerated() {
      guard index[aid] == nil else { return bad("atom id \(aid) repeated") }
      index[aid] = k
      guard c.elements[k] >= 0, c.elements[k] <= 118 else {
        let line = k < c.elementLines.count ? c.elementLines[k] : nil
        return bad("atom \(aid): element \(c.elements[k]) is not a chemical element (query or unknown atom)", line: line)
      }
      table.atoms.append(ConnectionTable.AtomEntry(element: c.elements[k]))
    }
    for (aid, v) in c.charges { guard let k = index[aid] else { return bad("charge on unknown atom \(aid)") }; table.atoms[k].charge = v }
    for (aid, v) in c.isotopes { guard let k = index[aid] else { return bad("isotope on unknown atom \(aid)") }; table.atoms[k].isotope = v }
    for (aid, v) in c.radicals { guard let k = index[aid] else { return bad("radical on unknown atom \(aid)") }; table.atoms[k].radicals = v }
    if !c.coordinateAids.isEmpty {
      guard c.xs.count == c.coordinateAids.count, c.ys.count == c.coordinateAids.count,
        c.zs.isEmpty || c.zs.count == c.coordinateAids.count
      else { return bad("conformer coordinates do not match the atom list") }
      for (j, aid) in c.coordinateAids.enumerated() {
        guard let k = index[aid] else { return bad("coordinates for unknown atom \(aid)") }
        table.atoms[k].x = c.xs[j]
        table.atoms[k].y = c.ys[j]
        table.atoms[k].z = c.zs.isEmpty || !c.threeD ? 0 : c.zs[j]
      }
    }
  var wedges: [Int: [Int: ConnectionTable.Wedge]] = [:]
    for j in 0..<min(c.annotations.count, c.annotationA.count, c.annotationB.count) {
      guard let a = index[c.annotationA[j]], let b = index[c.annotationB[j]] else { continue }
      switch c.annotations[j] {
      case 5: wedges[a, default: [:]][b] = .up
      case 6: wedges[a, default: [:]][b] = .down
      case 3: wedges[a, default: [:]][b] = .either  // wavy
      default: break
      }
    }
    for j in c.bondTypes.indices {
      guard let a = index[c.bondA[j]], let b = index[c.bondB[j]] else { return bad("bond \(j + 1) names an unknown atom") }
      let kind: ConnectionTable.BondKind
      switch c.bondTypes[j] {
      case 1: kind = .single
      case 2: kind = .double
      case 3: kind = .triple
      case 5: kind = .dative
      case 7: continue  // ionic: no covalent bond
      default: return bad("bond \(j + 1) has type \(c.bondTypes[j]) (quadruple, complex or unknown), not supported")
      }
      if let w = wedges[a]?[b] {
        table.bonds.append(ConnectionTable.BondEntry(a, b, kind, wedge: w))
      } else if let w = wedges[b]?[a] {
        table.bonds.append(ConnectionTable.BondEntry(b, a, kind, wedge: w))
      } else {
        table.bonds.append(ConnectionTable.BondEntry(a, b, kind))
      }
    }
  var m = MoleculeRecord(location: location, structure: .table(table))
    m.cid = c.cid
    for p in c.props {
      switch (p.label, p.name) {
      case ("SMILES", "Isomeric"), ("SMILES", "Absolute"): m.pubchemSmiles = p.value
      case ("SMILES", "Canonical"), ("SMILES", "Connectivity"): m.pubchemConnectivitySmiles = p.value
      case ("InChI", _): m.inchi = m.inchi ?? p.value
      case ("InChIKey", _): m.inchikey = m.inchikey ?? p.value
      case ("Molecular Formula", _): m.formula = p.value
      case ("Molecular Weight", _): m.weight = p.value
      default: break
      }
    }
    return .record(m)
  }
}
