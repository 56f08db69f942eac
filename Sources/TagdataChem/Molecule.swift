/// Bond orders, numbered as the canonical ranking compares them (aromatic highest).
public enum BondOrder: UInt8, Sendable, Comparable {
  case single = 1, double = 2, triple = 3, quadruple = 4, aromatic = 12
  /// A coordinate bond from `a` (donor) to `b` (acceptor), written `->`; no valence to either.
  case dative = 17

  public static func < (a: BondOrder, b: BondOrder) -> Bool { a.rawValue < b.rawValue }

  /// Contribution to an atom's valence, doubled (aromatic counts 1.5, i.e. 3 halves).
  var halfValence: Int {
    switch self {
    case .single: return 2
    case .double: return 4
    case .triple: return 6
    case .quadruple: return 8
    case .aromatic: return 3
    case .dative: return 0
    }
  }
}

/// Tetrahedral configuration as written: looking from the first neighbour (in SMILES order),
/// the others go counter-clockwise (`@`) or clockwise (`@@`).
public enum Chirality: UInt8, Sendable {
  case none, counterClockwise, clockwise
}

/// The configuration of a stereo double bond: the two reference neighbours (`reference.0` on
/// the bond's atom `a`, `reference.1` on its atom `b`) are on the same side (cis) or on
/// opposite sides (trans).
public struct DoubleBondStereo: Sendable, Equatable {
  public var bond: Int
  public var reference: (Int, Int)
  public var trans: Bool
  public static func == (a: Self, b: Self) -> Bool {
    a.bond == b.bond && a.reference == b.reference && a.trans == b.trans
  }
}

public struct Atom: Sendable, Equatable {
  /// Atomic number; 0 for `*`.
  public var element: Int
  /// Mass number, 0 when unspecified.
  public var isotope: Int = 0
  public var charge: Int = 0
  /// Hydrogens: written (bracket atoms) or computed from the valence model (organic subset).
  public var hydrogens: Int = 0
  /// Bracket atoms never get implicit hydrogens.
  public var bracket = false
  public var aromatic = false
  public var chirality = Chirality.none
  /// Square-planar configuration `@SP1`...`@SP3` (0 when none), over `stereoOrder`.
  public var squarePlanar = 0
  /// Neighbour atoms in the order the chirality refers to; -1 stands for the implicit H (or,
  /// for three-connected S, Se, P, the lone pair).
  public var stereoOrder: [Int] = []
  /// Where an implicit H (or lone pair) sits in `stereoOrder`: after the preceding atom, or first.
  public var stereoHSlot = 0
  /// Atom class (`:n`), 0 when absent.
  public var atomClass = 0
  public var radicals = 0

  public init(element: Int) { self.element = element }
}

public struct Bond: Sendable, Equatable {
  public var a: Int
  public var b: Int
  public var order: BondOrder
  /// `/` or `\` as written, relative to the direction a → b: +1 for `/`, -1 for `\`, 0 none.
  public var direction: Int8 = 0
  public var inRing = false

  public func other(_ atom: Int) -> Int { atom == a ? b : a }
}

/// A substituent of a double-bond atom and whether it points up from that atom.
struct DirectionHint: Sendable, Equatable {
  var neighbor: Int
  var up: Bool
}

/// A molecular graph with hydrogens folded into atoms as counts.
public struct Molecule: Sendable, Equatable {
  public var atoms: [Atom] = []
  public var bonds: [Bond] = []
  /// Per atom, its bond indices in creation order.
  public var adjacency: [[Int]] = []
  public var doubleBondStereo: [DoubleBondStereo] = []
  /// Smallest rings (set by ring perception): bond indices of each ring, and its atoms in
  /// ring order.
  public var ringBonds: [[Int]] = []
  public var ringAtoms: [[Int]] = []
  /// `/` `\` marks of `[H]` atoms folded into their double-bond atom, restated on that atom's
  /// other substituent (with the opposite sense) for that atom's double bond only: the mark must
  /// not also reach a double bond at the substituent's far end, which is why the `[H]` was
  /// written. Consumed by stereo perception and empty afterwards.
  var directionHints: [Int: DirectionHint] = [:]
  /// Double bonds a CXSMILES `ctu` field declares of unknown configuration: `/` `\` marks next to
  /// them (there for neighbouring double bonds) do not set them. Consumed by stereo perception.
  var unknownConfiguration: Set<Int> = []

  public init() {}

  @discardableResult
  mutating func addAtom(_ atom: Atom) -> Int {
    atoms.append(atom)
    adjacency.append([])
    return atoms.count - 1
  }

  @discardableResult
  mutating func addBond(_ a: Int, _ b: Int, _ order: BondOrder, direction: Int8 = 0) -> Int {
    bonds.append(Bond(a: a, b: b, order: order, direction: direction))
    adjacency[a].append(bonds.count - 1)
    adjacency[b].append(bonds.count - 1)
    return bonds.count - 1
  }

  public func bond(between a: Int, _ b: Int) -> Int? {
    adjacency[a].first { bonds[$0].other(a) == b }
  }

  public func neighbors(_ atom: Int) -> [Int] { adjacency[atom].map { bonds[$0].other(atom) } }

  public func degree(_ atom: Int) -> Int { adjacency[atom].count }

  /// Whether a bond lies in a ring of fewer than 8 atoms, where a double bond cannot be trans
  /// and so carries no configuration (perception and the writer both leave such bonds alone).
  func inSmallRing(_ bond: Int) -> Bool {
    guard bonds[bond].inRing else { return false }
    return ringBonds.contains { $0.count < 8 && $0.contains(bond) }
  }

  /// Bonds in a ring of fewer than 8 atoms (``inSmallRing(_:)`` for many bonds at once).
  func smallRingBonds() -> Set<Int> {
    var out = Set<Int>()
    for ring in ringBonds where ring.count < 8 { out.formUnion(ring) }
    return out
  }

  /// Per atom, the indices of the rings (of `ringAtoms`) through it.
  func atomRings() -> [[Int]] {
    var out = [[Int]](repeating: [], count: atoms.count)
    for (k, ring) in ringAtoms.enumerated() { for a in ring { out[a].append(k) } }
    return out
  }

  /// Neighbours that count for valence: dative bonds left out.
  public func valenceDegree(_ atom: Int) -> Int {
    var n = 0
    for b in adjacency[atom] where bonds[b].order != .dative { n += 1 }
    return n
  }

  /// The connected components as molecules of their own (atoms and bonds renumbered in their
  /// order, rings, stereo and CXSMILES marks carried over), in linear time: each part is then
  /// ranked and written with arrays of its own size, not the whole input's.
  func componentMolecules() -> [Molecule] {
    let comps = components()
    if comps.count <= 1 { return comps.isEmpty ? [] : [self] }
    var which = [Int](repeating: 0, count: atoms.count)
    var newIndex = [Int](repeating: 0, count: atoms.count)
    for (c, comp) in comps.enumerated() {
      for (k, a) in comp.enumerated() {
        which[a] = c
        newIndex[a] = k
      }
    }
    var parts = [Molecule](repeating: Molecule(), count: comps.count)
    for (c, comp) in comps.enumerated() {
      parts[c].atoms.reserveCapacity(comp.count)
      for a in comp {
        var atom = atoms[a]
        atom.stereoOrder = atom.stereoOrder.map { $0 < 0 ? $0 : newIndex[$0] }
        parts[c].atoms.append(atom)
      }
      parts[c].adjacency = [[Int]](repeating: [], count: comp.count)
    }
    var newBond = [Int](repeating: 0, count: bonds.count)
    for (i, b) in bonds.enumerated() {
      let c = which[b.a]
      var nb = b
      nb.a = newIndex[b.a]
      nb.b = newIndex[b.b]
      newBond[i] = parts[c].bonds.count
      parts[c].bonds.append(nb)
    }
    for a in atoms.indices { parts[which[a]].adjacency[newIndex[a]] = adjacency[a].map { newBond[$0] } }
    for (k, ring) in ringBonds.enumerated() where !ring.isEmpty {
      let c = which[bonds[ring[0]].a]
      parts[c].ringBonds.append(ring.map { newBond[$0] })
      parts[c].ringAtoms.append(ringAtoms[k].map { newIndex[$0] })
    }
    for s in doubleBondStereo {
      parts[which[bonds[s.bond].a]].doubleBondStereo.append(
        DoubleBondStereo(bond: newBond[s.bond], reference: (newIndex[s.reference.0], newIndex[s.reference.1]), trans: s.trans))
    }
    for (a, hint) in directionHints {
      parts[which[a]].directionHints[newIndex[a]] = DirectionHint(neighbor: newIndex[hint.neighbor], up: hint.up)
    }
    for b in unknownConfiguration { parts[which[bonds[b].a]].unknownConfiguration.insert(newBond[b]) }
    return parts
  }

  /// Connected components, each a sorted list of atom indices.
  public func components() -> [[Int]] {
    var seen = [Bool](repeating: false, count: atoms.count)
    var out: [[Int]] = []
    for start in atoms.indices where !seen[start] {
      var stack = [start]
      seen[start] = true
      var comp: [Int] = []
      while let v = stack.popLast() {
        comp.append(v)
        for b in adjacency[v] {
          let n = bonds[b].other(v)
          if seen[n] { continue }
          seen[n] = true
          stack.append(n)
        }
      }
      // One component holding every atom is 0..<n: no sort needed.
      out.append(comp.count == atoms.count ? Array(atoms.indices) : comp.sorted())
    }
    return out
  }
}

/// Which elements are metals (for dative bonds and bracket rules).
public enum Metals {
  static let nonMetals: Set<Int> = [0, 1, 2, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 33, 34, 35, 36, 52, 53, 54, 85, 86]
  /// `isMetal` by atomic number, as a table (this is asked for every neighbour of every atom).
  static let metalTable: [Bool] = (0..<PeriodicTable.elements.count).map { !nonMetals.contains($0) }
  public static func isMetal(_ element: Int) -> Bool {
    element >= 0 && element < metalTable.count ? metalTable[element] : !nonMetals.contains(element)
  }
}

/// Square-planar geometry: which neighbours of a centre are trans to each other.
enum SquarePlanar {
  /// The two trans pairs for neighbours in `order` under class 1 (U shape: 0-2, 1-3),
  /// 2 (4 shape: 0-1, 2-3) or 3 (Z shape: 0-3, 1-2), each pair sorted, pairs sorted.
  static func transPairs<T: Comparable>(_ order: [T], _ k: Int) -> [[T]] {
    let pairs: [(Int, Int)] = k == 1 ? [(0, 2), (1, 3)] : k == 2 ? [(0, 1), (2, 3)] : [(0, 3), (1, 2)]
    return pairs.map { [order[$0.0], order[$0.1]].sorted() }.sorted { $0.lexicographicallyPrecedes($1) }
  }

  /// The class that describes the same trans pairs for neighbours listed in `order`.
  static func classFor(pairs: [[Int]], order: [Int]) -> Int {
    for k in 1...3 where transPairs(order, k) == pairs { return k }
    return 1
  }
}
