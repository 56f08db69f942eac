/// Aromaticity perception in RDKit's default model, on a Kekulé structure: rings whose atoms
/// can all take part, electron counts per atom, a Hückel 4n+2 test on single rings and on
/// fused systems of up to six rings, then aromatic flags on atoms and bonds.
enum Aromaticity {
  enum Donor { case none, vacant, one, two, oneOrTwo, any }

  static func perceive(_ mol: inout Molecule) {
    guard !mol.ringBonds.isEmpty else { return }
    let n = mol.atoms.count
    var donor = [Donor](repeating: .none, count: n)
    var candidate = [Bool](repeating: false, count: n)
    var inRing = [Bool](repeating: false, count: n)
    for ring in mol.ringAtoms { for a in ring { inRing[a] = true } }
    // Bonds in some ring of the set (a flag per bond: asked for every bond of every ring atom).
    var ringBondSet = [Bool](repeating: false, count: mol.bonds.count)
    for r in mol.ringBonds { for b in r { ringBondSet[b] = true } }
    let atomRings = mol.atomRings()
    for i in 0..<n where inRing[i] {
      donor[i] = donorType(mol, i, ringBonds: ringBondSet, atomRings: atomRings)
      candidate[i] = donor[i] != .none && isCandidate(mol, i)
    }
    // Candidate rings: every atom a candidate, not all dummies.
    var rings: [Int] = []
    for (k, atoms) in mol.ringAtoms.enumerated()
    where atoms.allSatisfy({ candidate[$0] }) && !atoms.allSatisfy({ mol.atoms[$0].element == 0 }) {
      rings.append(k)
    }
    guard !rings.isEmpty else { return }
    // Fused systems: rings sharing exactly one bond, both with at most 24 bonds.
    var neighbours = [[Int]](repeating: [], count: rings.count)
    if rings.count > 1 {
      // Shared bonds per ring pair, counted through a bond -> rings index.
      var ringsOfBond = [[Int]](repeating: [], count: mol.bonds.count)
      for (x, r) in rings.enumerated() where mol.ringBonds[r].count <= 24 {
        for b in mol.ringBonds[r] { ringsOfBond[b].append(x) }
      }
      var shared = [Int: Int]()
      for list in ringsOfBond where list.count > 1 {
        for i in list.indices { for j in (i + 1)..<list.count { shared[list[i] * rings.count + list[j], default: 0] += 1 } }
      }
      for (key, count) in shared.sorted(by: { $0.key < $1.key }) where count == 1 {
        let (x, y) = (key / rings.count, key % rings.count)
        neighbours[x].append(y)
        neighbours[y].append(x)
      }
    }
    var system = [Int](repeating: -1, count: rings.count)
    var systems: [[Int]] = []
    for start in rings.indices where system[start] < 0 {
      var members = [start]
      system[start] = systems.count
      var k = 0
      while k < members.count {
        for m in neighbours[members[k]] where system[m] < 0 {
          system[m] = systems.count
          members.append(m)
        }
        k += 1
      }
      systems.append(members.sorted())
    }
    var aromaticBond = [Bool](repeating: false, count: mol.bonds.count)
    var aromaticAtom = [Bool](repeating: false, count: n)
    // Per-subset counts in flat arrays, reset through the lists of what was touched.
    var atomCount = [Int](repeating: 0, count: n)
    var bondCount = [Int](repeating: 0, count: mol.bonds.count)
    var touchedAtoms: [Int] = [], touchedBonds: [Int] = []
    var donors: [Donor] = []
    for members in systems {
      let allBonds = Array(Set(members.flatMap { mol.ringBonds[rings[$0]] }))
      var pending = allBonds.count  // bonds of the system not yet aromatic
      for b in allBonds where aromaticBond[b] { pending -= 1 }
      let maxSubset = members.count > 300 ? 2 : min(members.count, 6)
      var done = false
      for size in 1...maxSubset where !done {
        forEachConnectedSubset(members, size: size, neighbours: neighbours) { subset in
          // Atoms in exactly one or two rings of the subset count; bonds in exactly one ring
          // of the subset are the ones this subset can make aromatic.
          for r in subset {
            for a in mol.ringAtoms[rings[r]] {
              if atomCount[a] == 0 { touchedAtoms.append(a) }
              atomCount[a] += 1
            }
            for b in mol.ringBonds[rings[r]] {
              if bondCount[b] == 0 { touchedBonds.append(b) }
              bondCount[b] += 1
            }
          }
          donors.removeAll(keepingCapacity: true)
          for a in touchedAtoms where atomCount[a] <= 2 { donors.append(donor[a]) }
          if huckel(donors) {
            for b in touchedBonds where bondCount[b] == 1 && !aromaticBond[b] {
              aromaticBond[b] = true
              aromaticAtom[mol.bonds[b].a] = true
              aromaticAtom[mol.bonds[b].b] = true
              pending -= 1
            }
          }
          for a in touchedAtoms { atomCount[a] = 0 }
          for b in touchedBonds { bondCount[b] = 0 }
          touchedAtoms.removeAll(keepingCapacity: true)
          touchedBonds.removeAll(keepingCapacity: true)
          if pending == 0 { done = true }
          return !done
        }
      }
    }
    // A triple bond in an aromatic ring stays triple (as in RDKit, `c#[n+]1`): written as an
    // aromatic bond it read back as a different molecule.
    for b in mol.bonds.indices where aromaticBond[b] && mol.bonds[b].order != .triple { mol.bonds[b].order = .aromatic }
    for i in 0..<n where aromaticAtom[i] { mol.atoms[i].aromatic = true }
  }

  /// Calls `body` with every connected subset of `size` rings (indices into `members`'
  /// numbering), each once; stops when `body` returns false. Subsets are grown from their
  /// lowest ring by exclusive neighbours (the ESU enumeration), so only connected subsets are
  /// visited: trying every combination of `size` rings and keeping the connected ones took
  /// C(n, 6) steps on a large fused system. The recursion is at most `size` (six) deep.
  static func forEachConnectedSubset(_ members: [Int], size: Int, neighbours: [[Int]], _ body: ([Int]) -> Bool) {
    var stop = false
    var current: [Int] = []
    func adjacentToCurrent(_ u: Int) -> Bool { current.contains { neighbours[$0].contains(u) } }
    func extend(_ candidates: [Int], _ root: Int) {
      if current.count == size {
        if !body(current) { stop = true }
        return
      }
      var pending = candidates
      while !stop, let w = pending.popLast() {
        var next = pending
        for u in neighbours[w] where u > root && u != w && !current.contains(u) && !next.contains(u) && !adjacentToCurrent(u) {
          next.append(u)
        }
        current.append(w)
        extend(next, root)
        current.removeLast()
      }
    }
    for v in members where !stop {
      current = [v]
      extend(neighbours[v].filter { $0 > v }, v)
    }
  }

  static func huckel(_ donors: [Donor]) -> Bool {
    var low = 0, high = 0, anyCount = 0
    for d in donors {
      switch d {
      case .none, .vacant: break
      case .one: low += 1; high += 1
      case .two: low += 2; high += 2
      case .oneOrTwo: low += 1; high += 2
      case .any:
        anyCount += 1
        low += 1
        high += 2
      }
    }
    if anyCount > 1 { return false }
    if high == 2 { return true }
    guard high >= 6 else { return false }
    for e in low...high where (e - 2) % 4 == 0 { return true }
    return false
  }

  static func isCandidate(_ mol: Molecule, _ i: Int) -> Bool {
    let a = mol.atoms[i]
    guard a.element <= 18 || a.element == 34 || a.element == 52 else { return false }
    if a.radicals > 0 && !(a.element == 6 && a.charge == 0) { return false }
    // A charge that leaves the atom with no more electrons than beryllium ([N+4] like Li)
    // takes it out, as in RDKit (written aromatic, it could not be read back).
    if a.charge > 0 && a.element > 0 && a.element - a.charge < 5 { return false }
    // So does a charge of +4 or more, or -3 or less ([S+9], [O-3]), as in RDKit.
    if a.charge >= 4 || a.charge <= -3 { return false }
    var multiple = 0
    for b in mol.adjacency[i] where mol.bonds[b].order == .double || mol.bonds[b].order == .triple { multiple += 1 }
    if multiple > 1 { return false }
    // Total valence no higher than the default valence of the isoelectronic element.
    if a.element > 0, let allowed = Valence.allowed(element: a.element, charge: a.charge), let dv = allowed.first {
      let total = Valence.bondHalfValence(mol, i) + 2 * a.hydrogens
      if total > dv { return false }
    }
    return true
  }

  /// Electronegativity order for "stealing" electrons through exocyclic multiple bonds.
  static func moreElectronegative(_ x: Int, than y: Int) -> Bool {
    let ex = PeriodicTable.elements[x].outerElectrons, ey = PeriodicTable.elements[y].outerElectrons
    return ex != ey ? ex > ey : x < y
  }

  static func donorType(_ mol: Molecule, _ i: Int, ringBonds: [Bool], atomRings: [[Int]]) -> Donor {
    let a = mol.atoms[i]
    var inRingMultiple = false
    var exocyclicMultiple: Int? = nil  // partner atom
    var anyMultiple = false
    for b in mol.adjacency[i] {
      let bond = mol.bonds[b]
      guard bond.order == .double || bond.order == .triple else { continue }
      anyMultiple = true
      if ringBonds[b] { inRingMultiple = true } else { exocyclicMultiple = bond.other(i) }
    }
    if a.element == 0 { return inRingMultiple ? .one : .any }
    let element = PeriodicTable.elements[a.element]
    let dv = element.defaultValence
    if dv <= 1 { return .none }
    let degree = mol.valenceDegree(i) + a.hydrogens
    if degree > 3 { return .none }
    let lonePairElectrons = max(element.outerElectrons - dv - a.charge, 0)
    var e = (dv - degree) + lonePairElectrons - a.radicals
    let unsaturation = (Valence.bondHalfValence(mol, i) / 2 + a.hydrogens) - degree
    if e > 1 && unsaturation > 1 { e = 1 }
    if e < 0 { return .none }
    if e == 0 {
      if let _ = exocyclicMultiple, !inRingMultiple { return .vacant }
      return inRingMultiple ? .one : .none
    }
    if e == 1 {
      if let partner = exocyclicMultiple {
        return moreElectronegative(mol.atoms[partner].element, than: a.element) ? .vacant : .one
      }
      if anyMultiple { return .one }
      return a.charge == 1 ? .vacant : .none
    }
    if let partner = exocyclicMultiple, moreElectronegative(mol.atoms[partner].element, than: a.element) { e -= 1 }
    var result: Donor = e % 2 == 1 ? .one : .two
    // Macrocycles: a neutral two-connected O or S without multiple bonds does not donate in
    // rings of nine atoms or more.
    if result == .two && (a.element == 8 || a.element == 16) && a.charge == 0 && mol.degree(i) == 2 && !anyMultiple {
      let smallest = atomRings[i].map { mol.ringAtoms[$0].count }.min() ?? 0
      if smallest >= 9 { result = .none }
    }
    return result
  }
}
