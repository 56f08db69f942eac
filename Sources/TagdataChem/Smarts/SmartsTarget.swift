/// A molecule prepared for SMARTS matching: every atom and bond property a primitive asks for,
/// computed once in flat arrays, and the matcher's reusable work buffers. Build one per molecule
/// and match many patterns against it.
///
/// Hydrogens: `H` counts the atom's hydrogen count plus its neighbours that are H atoms (graph
/// atoms of element 1, as after adding explicit hydrogens); `D` counts graph neighbours (H atoms
/// included); `X` is `D` plus the hydrogen count; `v` the bond-order sum plus hydrogens (aromatic
/// bonds 1.5, rounded as the valence model does). Rings come from the molecule's ring set
/// (``Molecule/ringAtoms``): `R` is the number of its rings through the atom, `r` the size of the
/// smallest, `x` the number of ring bonds at the atom, `@` a ring bond.
///
/// Not for concurrent use: the work buffers are shared by the matches run on one target.
public struct SmartsTarget {
  let data: SmartsTargetData
  let scratch: SmartsScratchBox

  public init(_ molecule: Molecule) {
    data = SmartsTargetData(molecule)
    scratch = SmartsScratchBox()
  }

  /// Number of atoms of the molecule.
  public var atomCount: Int { data.atomCount }
}

/// The flat per-atom and per-bond arrays of a target.
struct SmartsTargetData: Sendable {
  var atomCount: Int
  var element: [Int32]
  var aromatic: [Bool]
  var degree: [Int32]
  var totalH: [Int32]
  var totalDegree: [Int32]
  var valence: [Int32]
  var charge: [Int32]
  var isotope: [Int32]
  var ringCount: [Int32]
  var smallestRing: [Int32]
  var ringBondCount: [Int32]
  /// Neighbours of atom a: neighborAtom/neighborBond[neighborStart[a] ..< neighborStart[a + 1]],
  /// in increasing atom index.
  var neighborStart: [Int32]
  var neighborAtom: [Int32]
  var neighborBond: [Int32]
  var bondOrder: [UInt8]
  var bondInRing: [Bool]

  init(_ mol: Molecule) {
    let n = mol.atoms.count
    atomCount = n
    element = mol.atoms.map { Int32(truncatingIfNeeded: $0.element) }
    aromatic = mol.atoms.map(\.aromatic)
    charge = mol.atoms.map { Int32(truncatingIfNeeded: $0.charge) }
    isotope = mol.atoms.map { Int32(truncatingIfNeeded: $0.isotope) }
    degree = [Int32](repeating: 0, count: n)
    totalH = [Int32](repeating: 0, count: n)
    totalDegree = [Int32](repeating: 0, count: n)
    valence = [Int32](repeating: 0, count: n)
    ringCount = [Int32](repeating: 0, count: n)
    smallestRing = [Int32](repeating: 0, count: n)
    ringBondCount = [Int32](repeating: 0, count: n)
    bondOrder = mol.bonds.map(\.order.rawValue)
    bondInRing = mol.bonds.map(\.inRing)
    neighborStart = [Int32](repeating: 0, count: n + 1)
    neighborAtom = []
    neighborBond = []
    neighborAtom.reserveCapacity(2 * mol.bonds.count)
    neighborBond.reserveCapacity(2 * mol.bonds.count)
    var pairs: [(atom: Int32, bond: Int32)] = []
    for a in 0 ..< n {
      let atom = mol.atoms[a]
      pairs.removeAll(keepingCapacity: true)
      var hNeighbours = 0
      var ringBonds = 0
      for b in mol.adjacency[a] {
        let other = mol.bonds[b].other(a)
        pairs.append((Int32(other), Int32(b)))
        if mol.atoms[other].element == 1 { hNeighbours += 1 }
        if mol.bonds[b].inRing { ringBonds += 1 }
      }
      pairs.sort { $0.atom < $1.atom }
      for p in pairs {
        neighborAtom.append(p.atom)
        neighborBond.append(p.bond)
      }
      neighborStart[a + 1] = Int32(neighborAtom.count)
      let d = mol.adjacency[a].count
      degree[a] = Int32(d)
      totalH[a] = Int32(truncatingIfNeeded: atom.hydrogens + hNeighbours)
      totalDegree[a] = Int32(truncatingIfNeeded: d + atom.hydrogens)
      ringBondCount[a] = Int32(ringBonds)
      var ev2 = Valence.bondHalfValence(mol, a) + 2 * atom.hydrogens
      if atom.aromatic, let allowed = Valence.allowed(element: atom.element, charge: atom.charge) {
        ev2 = Valence.roundAromatic(ev2, allowed: allowed)
      }
      valence[a] = Int32(truncatingIfNeeded: (ev2 + 1) / 2)
    }
    for ring in mol.ringAtoms {
      let size = Int32(ring.count)
      for a in ring where a < n {
        ringCount[a] += 1
        if smallestRing[a] == 0 || size < smallestRing[a] { smallestRing[a] = size }
      }
    }
  }
}

/// The matcher's work buffers, kept with a target so that matching many patterns allocates once.
final class SmartsScratchBox {
  var buffers: SmartsBuffers? = SmartsBuffers()
}

/// Work buffers of one match run (see ``SmartsMatcher``).
struct SmartsBuffers {
  /// Per global pattern atom and step: the molecule atom placed, and the candidate cursor.
  var map: [Int32] = []
  var cursor: [Int32] = []
  /// Per subpattern and molecule atom: used by the subpattern's current partial match.
  var used: [Bool] = []
  /// Cached atom-query results per (global pattern atom, molecule atom), and recursive results
  /// per (subpattern, molecule atom): generation << 1 | result; another generation = unknown.
  var atomCache: [UInt32] = []
  var recursiveCache: [UInt32] = []
  var generation: UInt32 = 0
  /// Unique matches: sorted atom sets, flat, and an open-addressing table of their indices.
  var seenSets: [Int32] = []
  var seenTable: [Int32] = []
  var sortBuffer: [Int32] = []
}
