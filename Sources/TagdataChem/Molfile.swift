/// Reads MDL molfiles (V2000 and V3000 connection tables) into a ``Molecule``, with stereo taken
/// from the structure: tetrahedral centres from wedge/hash bonds in 2D or from 3D coordinates,
/// double-bond E/Z from coordinates ("either" bonds and crossed double bonds stay unspecified).
///
/// Bond orders 1/2/3 are Kekulé, 4 is aromatic; `M  CHG`, `M  ISO` and `M  RAD` override the
/// atom block (as the CTfile rules say). All atoms take implicit hydrogens from the valence
/// model, explicit `H` atoms are folded into counts. The result is sanitized like SMILES input,
/// so the canonical SMILES of a connection table equals that of the same molecule in SMILES.
public enum Molfile {
  /// A molfile's title (first header line) and its molecule.
  public struct Record: Sendable {
    public var title: String
    public var molecule: Molecule
  }

  public static func read(_ text: String, limits: MoleculeLimits = .standard) throws(MolfileError) -> Record {
    try read(lines: text.split(separator: "\n", omittingEmptySubsequences: false).map {
      var l = Substring($0)
      if l.hasSuffix("\r") { l.removeLast() }
      return l
    }, limits: limits)
  }

  struct Parsed {
    var mol = Molecule()
    var coordinates: [(Double, Double, Double)] = []
    var wedges: [(bond: Int, kind: Int)] = []  // 1 wedge, 6 hash, 4 either
    var eitherDouble: Set<Int> = []
    var fixedValence: [Int: Int] = [:]
  }

  public static func read(lines: [Substring], limits: MoleculeLimits = .standard) throws(MolfileError) -> Record {
    try read(block: MolBlock(lines: lines), limits: limits)
  }

  /// Blocks over `limits` (bytes of the block, atoms in the counts line or the atom block) are
  /// refused with a ``MolfileError`` whose ``MolfileError/exceeded`` names the limit.
  public static func read(block: MolBlock, limits: MoleculeLimits = .standard) throws(MolfileError) -> Record {
    if let e = limits.checkBytes(block.bytes.count) { throw MolfileError(line: 0, exceeded: e) }
    guard block.lineCount >= 4 else {
      throw MolfileError(line: block.lineCount, message: "a molfile needs a header and a counts line")
    }
    let title = block.text(0).trimmingBlanks()
    let counts = block.line(3)
    let isV3000 = counts.count >= 5 && counts.indices.contains { i in
      i + 5 <= counts.endIndex && counts[i] == 0x56 && counts[i..<(i + 5)].elementsEqual("V3000".utf8)
    }
    var p = isV3000 ? try v3000(block.lines, limits: limits) : try v2000(block, limits: limits)
    let mol = try finish(&p)
    return Record(title: title, molecule: mol)
  }

  /// Element numbers of symbols written in molfiles (D and T are hydrogen isotopes; query and
  /// R-group symbols are dummy atoms).
  static let symbolTable: [String: (element: Int, isotope: Int)] = {
    var d: [String: (Int, Int)] = [:]
    for e in PeriodicTable.elements where e.number > 0 { d[e.symbol] = (e.number, 0) }
    d["D"] = (1, 2)
    d["T"] = (1, 3)
    for q in ["*", "A", "Q", "L", "R#", "R", "X"] { d[q] = (0, 0) }
    return d
  }()

  static func v2000(_ block: MolBlock, limits: MoleculeLimits) throws(MolfileError) -> Parsed {
    let counts = block.line(3)
    guard let na = Columns.int(counts, 0, 3), let nb = Columns.int(counts, 3, 6), na >= 0, nb >= 0 else {
      throw MolfileError(line: 4, message: "bad counts line")
    }
    if let e = limits.checkAtoms(na) { throw MolfileError(line: 4, exceeded: e) }
    guard block.lineCount >= 4 + na + nb else {
      throw MolfileError(line: block.lineCount, message: "molfile ends inside the atom or bond block")
    }
    var p = Parsed()
    p.mol.atoms.reserveCapacity(na)
    p.coordinates.reserveCapacity(na)
    for k in 0..<na {
      let l = block.line(4 + k)
      guard let x = Columns.double(l, 0, 10), let y = Columns.double(l, 10, 20), let z = Columns.double(l, 20, 30) else {
        throw MolfileError(line: 5 + k, message: "bad atom line")
      }
      let symbol = Columns.text(l, 31, 34)
      guard let known = symbolTable[symbol] else { throw MolfileError(line: 5 + k, message: "unknown element '\(symbol)'") }
      var atom = Atom(element: known.element)
      atom.isotope = known.isotope
      if let dm = Columns.int(l, 34, 36), dm != 0, atom.element > 0 {
        atom.isotope = Int(PeriodicTable.elements[atom.element].averageWeight.rounded()) + dm
      }
      switch Columns.int(l, 36, 39) ?? 0 {
      case 1: atom.charge = 3
      case 2: atom.charge = 2
      case 3: atom.charge = 1
      case 4: atom.radicals = 1
      case 5: atom.charge = -1
      case 6: atom.charge = -2
      case 7: atom.charge = -3
      default: break
      }
      // A valence given in the atom block fixes the hydrogens (15 means zero).
      if let v = Columns.int(l, 48, 51), v != 0 {
        p.fixedValence[p.mol.atoms.count] = v == 15 ? 0 : v
      }
      p.mol.addAtom(atom)
      p.coordinates.append((x, y, z))
    }
    for k in 0..<nb {
      let l = block.line(4 + na + k)
      guard let a = Columns.int(l, 0, 3), let b = Columns.int(l, 3, 6), let t = Columns.int(l, 6, 9),
        a >= 1, b >= 1, a <= na, b <= na, a != b
      else { throw MolfileError(line: 5 + na + k, message: "bad bond line") }
      try addBond(&p, a - 1, b - 1, type: t, stereo: Columns.int(l, 9, 12) ?? 0, line: 5 + na + k)
    }
    // Properties.
    var sawCharge = false, sawIsotope = false
    for k in (4 + na + nb)..<block.lineCount {
      let l = block.line(k)
      guard l.count >= 6, l[l.startIndex] == 0x4D else { continue }  // "M"
      let tag = Columns.text(l, 0, 6)
      if tag == "M  END" || tag == "M END" { break }
      guard tag == "M  CHG" || tag == "M  ISO" || tag == "M  RAD", let n = Columns.int(l, 6, 9) else { continue }
      if tag == "M  CHG" || tag == "M  RAD" {
        if !sawCharge { for i in p.mol.atoms.indices { p.mol.atoms[i].charge = 0; p.mol.atoms[i].radicals = 0 } }
        sawCharge = true
      }
      if tag == "M  ISO" && !sawIsotope {
        for i in p.mol.atoms.indices { p.mol.atoms[i].isotope = 0 }
        sawIsotope = true
      }
      for j in 0..<min(max(n, 0), 8) {
        let base = 9 + j * 8
        guard let atom = Columns.int(l, base, base + 4), let value = Columns.int(l, base + 4, base + 8),
          atom >= 1, atom <= na
        else { throw MolfileError(line: k + 1, message: "bad \(tag) line") }
        switch tag {
        case "M  CHG": p.mol.atoms[atom - 1].charge = value
        case "M  ISO": p.mol.atoms[atom - 1].isotope = value
        default: p.mol.atoms[atom - 1].radicals = value == 2 ? 1 : (value == 0 ? 0 : 2)
        }
      }
    }
    return p
  }

  static func addBond(_ p: inout Parsed, _ a: Int, _ b: Int, type: Int, stereo: Int, line: Int) throws(MolfileError) {
    let order: BondOrder
    switch type {
    case 1: order = .single
    case 2: order = .double
    case 3: order = .triple
    case 4: order = .aromatic
    case 9: order = .dative
    default: throw MolfileError(line: line, message: "bond type \(type) is a query type; not a molecule")
    }
    if p.mol.bond(between: a, b) != nil { throw MolfileError(line: line, message: "duplicate bond \(a + 1)-\(b + 1)") }
    let index = p.mol.addBond(a, b, order)
    if order == .aromatic {
      p.mol.atoms[a].aromatic = true
      p.mol.atoms[b].aromatic = true
    }
    if order == .single && (stereo == 1 || stereo == 6 || stereo == 4) { p.wedges.append((index, stereo)) }
    if order == .double && stereo == 3 { p.eitherDouble.insert(index) }
  }

  static func v3000(_ lines: [Substring], limits: MoleculeLimits) throws(MolfileError) -> Parsed {
    // Join continuation lines ("-" at the end), keep the M  V30 bodies.
    var body: [(String, Int)] = []
    var pending = ""
    for (k, raw) in lines.enumerated() {
      let l = String(raw)
      guard l.hasPrefix("M  V30 ") else {
        if l.hasPrefix("M  END") { break }
        continue
      }
      var content = String(l.dropFirst(7))
      if content.hasSuffix("-") {
        content.removeLast()
        pending += content
        continue
      }
      body.append((pending + content, k + 1))
      pending = ""
    }
    // The atom lines, whatever the COUNTS line says, against the limit.
    var atomLines = 0
    var inAtoms = false
    for (text, _) in body {
      if text.hasPrefix("BEGIN ATOM") { inAtoms = true } else if text.hasPrefix("END ATOM") { inAtoms = false } else if inAtoms { atomLines += 1 }
    }
    if let e = limits.checkAtoms(atomLines) { throw MolfileError(line: body.first { $0.0.hasPrefix("BEGIN ATOM") }?.1 ?? 0, exceeded: e) }
    var p = Parsed()
    var section = ""
    var index: [Int: Int] = [:]
    for (text, line) in body {
      let words = text.split(separator: " ").map(String.init)
      guard let first = words.first else { continue }
      if first == "BEGIN" { section = words.count > 1 ? words[1] : ""; continue }
      if first == "END" { section = ""; continue }
      if first == "COUNTS", words.count > 1, let na = Int(words[1]), let e = limits.checkAtoms(na) {
        throw MolfileError(line: line, exceeded: e)
      }
      switch section {
      case "ATOM":
        guard words.count >= 5, let id = Int(words[0]), let x = Double(words[2]), let y = Double(words[3]),
          let z = Double(words[4])
        else { throw MolfileError(line: line, message: "bad V3000 atom line") }
        guard let known = symbolTable[words[1]] else { throw MolfileError(line: line, message: "unknown element '\(words[1])'") }
        var atom = Atom(element: known.element)
        atom.isotope = known.isotope
        for w in words.dropFirst(6) {
          let kv = w.split(separator: "=", maxSplits: 1)
          guard kv.count == 2, let v = Int(kv[1]) else { continue }
          switch kv[0] {
          case "CHG": atom.charge = v
          case "MASS": atom.isotope = v
          case "RAD": atom.radicals = v == 2 ? 1 : (v == 0 ? 0 : 2)
          default: break
          }
        }
        index[id] = p.mol.addAtom(atom)
        p.coordinates.append((x, y, z))
      case "BOND":
        guard words.count >= 4, let t = Int(words[1]), let a = Int(words[2]).flatMap({ index[$0] }),
          let b = Int(words[3]).flatMap({ index[$0] }), a != b
        else { throw MolfileError(line: line, message: "bad V3000 bond line") }
        var stereo = 0
        for w in words.dropFirst(4) where w.hasPrefix("CFG=") {
          switch Int(w.dropFirst(4)) ?? 0 {
          case 1: stereo = 1
          case 2: stereo = t == 2 ? 3 : 4
          case 3: stereo = 6
          default: break
          }
        }
        try addBond(&p, a, b, type: t, stereo: stereo, line: line)
      default:
        break
      }
    }
    return p
  }

  /// Stereo from the structure, then the same sanitization as SMILES input.
  static func finish(_ p: inout Parsed) throws(MolfileError) -> Molecule {
    let threeD = p.coordinates.contains { abs($0.2) > 1e-4 }
    var mol = p.mol
    // Tetrahedral centres: with 3D coordinates every candidate centre; in 2D those at the
    // narrow end of a wedge or hash.
    var zShift = [Int: [Int: Double]]()  // centre -> neighbour -> z
    var centres = Set<Int>()
    if threeD {
      for i in mol.atoms.indices where mol.degree(i) >= 3 { centres.insert(i) }
    } else {
      for (b, kind) in p.wedges where kind != 4 {
        let bond = mol.bonds[b]
        centres.insert(bond.a)
        let v = (p.coordinates[bond.b].0 - p.coordinates[bond.a].0, p.coordinates[bond.b].1 - p.coordinates[bond.a].1)
        let length = (v.0 * v.0 + v.1 * v.1).squareRoot()
        zShift[bond.a, default: [:]][bond.b] = kind == 1 ? length : -length
      }
    }
    let either = Set(p.wedges.filter { $0.kind == 4 }.map { mol.bonds[$0.bond].a })
    for c in centres where !either.contains(c) {
      let neighbours = mol.neighbors(c)
      guard neighbours.count == 3 || neighbours.count == 4 else { continue }
      // Unit bond directions: drawings shorten some bonds (bridged systems), and only the
      // directions define the configuration.
      func vector(_ n: Int) -> (Double, Double, Double) {
        let dx = p.coordinates[n].0 - p.coordinates[c].0, dy = p.coordinates[n].1 - p.coordinates[c].1
        if threeD {
          let dz = p.coordinates[n].2 - p.coordinates[c].2
          let l = max((dx * dx + dy * dy + dz * dz).squareRoot(), 1e-9)
          return (dx / l, dy / l, dz / l)
        }
        let l = max((dx * dx + dy * dy).squareRoot(), 1e-9)
        let z = zShift[c]?[n].map { $0 > 0 ? 1.0 : -1.0 } ?? 0
        return (dx / l, dy / l, z)
      }
      var v = neighbours.map(vector)
      var order = neighbours
      if neighbours.count == 3 {
        // The implicit H (or lone pair) points away from the others.
        v.append((-(v[0].0 + v[1].0 + v[2].0), -(v[0].1 + v[1].1 + v[2].1), -(v[0].2 + v[1].2 + v[2].2)))
        order.append(-1)
      }
      let a = sub(v[1], v[0]), b = sub(v[2], v[0]), d = sub(v[3], v[0])
      let det = a.0 * (b.1 * d.2 - b.2 * d.1) - a.1 * (b.0 * d.2 - b.2 * d.0) + a.2 * (b.0 * d.1 - b.1 * d.0)
      guard abs(det) > 1e-6 else { continue }
      mol.atoms[c].chirality = det < 0 ? .counterClockwise : .clockwise
      // With three neighbours the -1 slot stands for the implicit H (or lone pair).
      mol.atoms[c].stereoOrder = order
      if neighbours.count == 3 { mol.atoms[c].stereoHSlot = 3 }
    }
    // Double bonds: E/Z from coordinates, references preferring heavy atoms.
    for (bi, bond) in mol.bonds.enumerated() where bond.order == .double && !p.eitherDouble.contains(bi) {
      func reference(_ end: Int) -> Int? {
        let subs = mol.neighbors(end).filter { $0 != bond.other(end) }
        return subs.first { mol.atoms[$0].element != 1 } ?? subs.first
      }
      guard let x = reference(bond.a), let y = reference(bond.b), mol.degree(bond.a) <= 3, mol.degree(bond.b) <= 3 else { continue }
      if p.wedges.contains(where: { $0.kind == 4 && (mol.bonds[$0.bond].a == bond.a || mol.bonds[$0.bond].a == bond.b) }) { continue }
      let ca = p.coordinates[bond.a], cb = p.coordinates[bond.b]
      let axis = sub(cb, ca)
      let axisLength = max((axis.0 * axis.0 + axis.1 * axis.1).squareRoot(), 1e-9)
      // Sine of the angle between the bond axis and the substituent, signed by side.
      func sine(_ n: Int, from c: (Double, Double, Double)) -> Double {
        let w = sub(p.coordinates[n], c)
        let l = max((w.0 * w.0 + w.1 * w.1).squareRoot(), 1e-9)
        return (axis.0 * w.1 - axis.1 * w.0) / (axisLength * l)
      }
      // A reference drawn in line with the double bond (within about 2°) says nothing: the
      // other substituent of that end, on the opposite side, decides (as RDKit reads drawings).
      let straight = 0.0353
      func side(_ n: Int, end: Int, from c: (Double, Double, Double)) -> Double? {
        let s = sine(n, from: c)
        if abs(s) >= straight { return s }
        guard let other = mol.neighbors(end).first(where: { $0 != n && $0 != bond.other(end) }) else { return nil }
        let t = sine(other, from: c)
        return abs(t) >= straight ? -t : nil
      }
      guard let sx = side(x, end: bond.a, from: ca), let sy = side(y, end: bond.b, from: cb) else { continue }
      mol.doubleBondStereo.append(DoubleBondStereo(bond: bi, reference: (x, y), trans: (sx > 0) != (sy > 0)))
    }
    // Molfile atoms take implicit hydrogens (none is a bracket atom), except where the atom
    // block gives the valence.
    for i in mol.atoms.indices {
      if let v = p.fixedValence[i] {
        let bonds = Valence.bondHalfValence(mol, i) / 2
        mol.atoms[i].hydrogens = max(0, v - bonds)
        mol.atoms[i].bracket = true
      } else {
        mol.atoms[i].bracket = false
      }
    }
    do {
      return try Sanitizer.sanitize(mol)
    } catch {
      throw MolfileError(line: 0, message: "\(error)")
    }
  }

  static func sub(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> (Double, Double, Double) {
    (a.0 - b.0, a.1 - b.1, a.2 - b.2)
  }
}

public struct MolfileError: Error, Sendable, CustomStringConvertible {
  /// 1-based line within the molfile (0 when not tied to a line).
  public var line: Int
  public var message: String
  /// The limit exceeded, when that is why the block was refused.
  public var exceeded: MoleculeLimits.Exceeded?

  public init(line: Int, message: String) {
    self.line = line
    self.message = message
  }

  init(line: Int, exceeded: MoleculeLimits.Exceeded) {
    self.line = line
    message = exceeded.description
    self.exceeded = exceeded
  }

  public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

extension String {
  func trimmingBlanks() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
    return String(s)
  }
}
