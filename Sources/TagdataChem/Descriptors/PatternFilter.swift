/// A cheap necessary condition for a SMARTS pattern to match, generated from the pattern text by
/// Scripts/gen-descriptor-tables: for each of its atoms, the atom classes (element, aromatic flag,
/// charge sign) it could match, and whether it needs a double or a triple bond. A molecule that
/// lacks one of them is not searched at all (the answer is known: no match). Conservative: it
/// never rules out a molecule the pattern matches (checked by the descriptor tests).
struct PatternFilter: Sendable {
  let double: Bool
  let triple: Bool
  /// One class set per distinct pattern atom set (atoms that may be anything are left out).
  let atoms: [[UInt64]]
  /// The first pattern atom's classes (Crippen: the typed atom); nil when it may be any atom.
  let first: [UInt64]?

  init(double: Bool, triple: Bool, atoms: [[UInt64]], first: [UInt64]? = nil) {
    self.double = double
    self.triple = triple
    self.atoms = atoms
    self.first = first
  }

  /// Whether the pattern may match a molecule with these features.
  @inline(__always)
  func mayMatch(_ f: MoleculeFeatures) -> Bool {
    if double && !f.hasDouble { return false }
    if triple && !f.hasTriple { return false }
    for set in atoms where !MoleculeFeatures.intersects(set, f.classes) { return false }
    return true
  }
}

/// The atom classes and bond kinds a molecule has, for ``PatternFilter``.
struct MoleculeFeatures {
  static let words = (DescriptorData.atomClassCount + 63) / 64
  var classes: [UInt64]
  var hasDouble = false
  var hasTriple = false

  @inline(__always)
  static func atomClass(_ a: Atom) -> Int {
    let z = a.element < 0 ? 0 : min(a.element, 118)
    return (z * 2 + (a.aromatic ? 1 : 0)) * 3 + (a.charge > 0 ? 2 : a.charge < 0 ? 0 : 1)
  }

  init(_ mol: Molecule) {
    classes = [UInt64](repeating: 0, count: Self.words)
    for a in mol.atoms {
      let c = Self.atomClass(a)
      classes[c >> 6] |= 1 << UInt64(c & 63)
    }
    for b in mol.bonds {
      if b.order == .double { hasDouble = true } else if b.order == .triple { hasTriple = true }
    }
  }

  @inline(__always)
  static func intersects(_ x: [UInt64], _ y: [UInt64]) -> Bool {
    for k in 0..<words where x[k] & y[k] != 0 { return true }
    return false
  }
}
