/// A connection table from any source (PubChem XML, a program's own arrays): atoms with
/// coordinates, bonds with their orders and wedges. ``molecule()`` applies the same stereo
/// perception and sanitization as the molfile reader, so the same structure gives the same
/// canonical SMILES whichever container it came in.
public struct ConnectionTable: Sendable {
  public struct AtomEntry: Sendable {
    /// Atomic number (0 for a dummy atom).
    public var element: Int
    public var charge = 0
    /// Mass number, 0 for natural abundance.
    public var isotope = 0
    /// Unpaired electrons.
    public var radicals = 0
    public var x = 0.0, y = 0.0, z = 0.0
    public init(element: Int) { self.element = element }
  }

  public enum BondKind: Sendable {
    case single, double, triple, aromatic
    /// Dative, pointing from the first atom (donor) to the second.
    case dative
  }

  public enum Wedge: Sendable {
    case none
    /// Wedge (towards the viewer) with its narrow end at the bond's first atom.
    case up
    /// Hash (away from the viewer), narrow end at the first atom.
    case down
    /// Wavy bond: the first atom's configuration is unknown.
    case either
  }

  public struct BondEntry: Sendable {
    public var a: Int
    public var b: Int
    public var kind: BondKind
    public var wedge: Wedge
    public init(_ a: Int, _ b: Int, _ kind: BondKind, wedge: Wedge = .none) {
      self.a = a
      self.b = b
      self.kind = kind
      self.wedge = wedge
    }
  }

  public var atoms: [AtomEntry] = []
  public var bonds: [BondEntry] = []
  public init() {}

  /// The checked molecule, with stereo from wedges (2D) or coordinates (3D). Errors name the
  /// atom or bond (1-based) at fault; a table over `limits` is refused with
  /// ``MolfileError/exceeded`` set, before any work on it.
  public func molecule(limits: MoleculeLimits = .standard) throws(MolfileError) -> Molecule {
    if let e = limits.checkAtoms(atoms.count) { throw MolfileError(line: 0, exceeded: e) }
    var p = Molfile.Parsed()
    for a in atoms {
      guard a.element >= 0, a.element < PeriodicTable.elements.count else {
        throw MolfileError(line: 0, message: "atom \(p.mol.atoms.count + 1): unknown element number \(a.element)")
      }
      var atom = Atom(element: a.element)
      atom.charge = a.charge
      atom.isotope = a.isotope
      atom.radicals = a.radicals
      p.mol.addAtom(atom)
      p.coordinates.append((a.x, a.y, a.z))
    }
    for (k, b) in bonds.enumerated() {
      guard b.a >= 0, b.b >= 0, b.a < atoms.count, b.b < atoms.count, b.a != b.b else {
        throw MolfileError(line: 0, message: "bond \(k + 1) joins atoms that do not exist")
      }
      let type: Int
      switch b.kind {
      case .single: type = 1
      case .double: type = 2
      case .triple: type = 3
      case .aromatic: type = 4
      case .dative: type = 9
      }
      let stereo: Int
      switch b.wedge {
      case .none: stereo = 0
      case .up: stereo = 1
      case .down: stereo = 6
      case .either: stereo = b.kind == .double ? 3 : 4
      }
      do {
        try Molfile.addBond(&p, b.a, b.b, type: type, stereo: stereo, line: 0)
      } catch {
        throw MolfileError(line: 0, message: "bond \(k + 1): \(error.message)")
      }
    }
    return try Molfile.finish(&p)
  }
}

extension Molecule {
  /// The molecular formula in Hill order (C, then H, then the other elements alphabetically;
  /// alphabetical throughout when there is no carbon), hydrogens included, followed by the net
  /// charge as PubChem writes it (`+`, `-`, `+2`, ...). Isotopes count as their element.
  public var formula: String {
    var counts = [Int](repeating: 0, count: PeriodicTable.elements.count)
    var charge = 0
    for a in atoms {
      counts[a.element] += 1
      counts[1] += a.hydrogens
      charge += a.charge
    }
    var parts: [(String, Int)] = []
    for (z, n) in counts.enumerated() where n > 0 && z > 0 {
      parts.append((PeriodicTable.elements[z].symbol, n))
    }
    if counts[0] > 0 { parts.append(("*", counts[0])) }
    let hasCarbon = counts[6] > 0
    parts.sort { x, y in
      func rank(_ s: String) -> Int { hasCarbon ? (s == "C" ? 0 : s == "H" ? 1 : 2) : 2 }
      let (rx, ry) = (rank(x.0), rank(y.0))
      return rx != ry ? rx < ry : x.0 < y.0
    }
    var s = ""
    for (symbol, n) in parts { s += n == 1 ? symbol : "\(symbol)\(n)" }
    if charge != 0 {
      s += charge > 0 ? "+" : "-"
      if abs(charge) > 1 { s += "\(abs(charge))" }
    }
    return s
  }

  /// True when the molecule carries stereo or isotope labels, i.e. when its isomeric and
  /// non-isomeric canonical SMILES can differ.
  public var hasStereoOrIsotopes: Bool {
    !doubleBondStereo.isEmpty
      || atoms.contains { $0.chirality != .none || $0.squarePlanar != 0 || $0.isotope != 0 }
      || bonds.contains { $0.direction != 0 }
  }
}
