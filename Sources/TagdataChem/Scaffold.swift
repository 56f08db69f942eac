/// Bemis–Murcko scaffolds (Bemis & Murcko, J. Med. Chem. 1996): the ring systems of a molecule
/// and the linkers between them, with the side chains cut off; and the generic (graph)
/// framework, every atom a carbon and every bond single.
///
/// The behaviour follows RDKit's `MurckoScaffold.GetScaffoldForMol` and `MakeScaffoldGeneric`
/// (checked against RDKit 2026.09 by the scaffold interop test; this is an implementation of its
/// own, not a translation):
///
/// - Kept: every ring atom, every atom on a path between two ring atoms (a linker), and every
///   atom bonded by a double bond to one of those (`O=C1CCCCC1`, the `=O` of a ketone linker,
///   `C=C1CCCCC1`); such an exocyclic atom keeps none of its own substituents (`CC=C1CCCCC1` ->
///   `C=C1CCCCC1`). Everything else goes, and so do fragments without a ring (`CCO.c1ccccc1C` ->
///   `c1ccccc1`); a molecule without a ring has the empty scaffold (SMILES "").
/// - Charges, isotopes and radicals of kept atoms stay (`C[n+]1ccccc1` -> `c1cc[nH+]cc1`).
/// - Hydrogens: a kept atom that lost a neighbour gets it back as a hydrogen when it is an
///   aromatic atom other than carbon (`Cn1cccc1` -> `c1cc[nH]c1`); any other such atom takes the
///   hydrogens of its lowest allowed valence (`C[N+]1(C)CCCC1` -> `C1CC[NH2+]C1`, `CP1(=O)CCCC1`
///   -> `O=[PH]1CCCC1`; unpaired electrons that RDKit's reader gives a bracket atom of a valence
///   between two allowed ones count as taken: `N1CC[S@](C)C1` -> `C1C[SH]CN1`); an atom without
///   a valence model (a metal) is left with none. An exocyclic double-bonded atom that lost its
///   own substituents keeps the hydrogens written in its brackets (`C1CC(=[S+]C)C1` ->
///   `[S+]=C1CCC1`), or takes its valence's when it is of the organic subset (`ON=C1CCCCC1` ->
///   `N=C1CCCCC1`).
/// - Aromaticity is kept as perceived on the whole molecule (cutting side chains does not change
///   it in RDKit's model: exocyclic double bonds stay).
/// - Stereo: a tetrahedral centre that lost a neighbour loses its configuration; the others keep
///   theirs while they are still centres. A double bond keeps its configuration when both its
///   ends keep their substituents; at an end that lost one of two, it stays (restated for the
///   kept one: the geometry does not change) when the kept substituent has the higher CIP
///   priority (`C/C(c1ccccc1)=C/c1ccccc1` keeps it), and goes when the cut one had it
///   (`N/C(c1ccccc1)=C/c1ccccc1`, nitrones losing `[O-]`): RDKit states a configuration for the
///   substituents of highest priority and drops it with them.
///
/// The generic framework of a scaffold: every atom carbon (hydrogen atoms stay hydrogen), not
/// aromatic, no charge, isotope or chirality; every bond single, no double-bond configuration;
/// hydrogens filled up to valence 4 (radicals kept, as RDKit keeps them).
///
/// Agreement (the scaffold interop test, RDKit reading our SMILES, compared by InChI with RDKit's
/// own scaffold of the same input): 12,810 molecules (the shipped SMILES edge cases and 10,000
/// ChEMBL), every one without a metal the same, scaffold and generic framework; all 47,464 ChEMBL
/// of the corpus and 6,000 randomly mutated SMILES checked once too, the same. Of the metal
/// complexes one differs on purpose: RDKit gives an aromatic `n` that lost its dative bond to a
/// metal a hydrogen (phenanthroline becomes a dihydrophenanthroline; for a pyridine RDKit then
/// cannot kekulize its own scaffold); a donor loses no valence with a dative bond, so the
/// heteroaromatic stays as it was.
///
/// Input: a sanitized molecule (``Smiles/read(_:limits:)``), whose ring bonds are perceived.
/// Time linear in the size of the molecule (n log n for the stereo check of the result): the
/// side chains are peeled leaf by leaf with a queue, no recursion.
public enum Scaffold {
  /// The Bemis–Murcko scaffold; the empty molecule when `mol` has no ring.
  /// (`perceiveRings`: perceive the scaffold's rings anew rather than carry the molecule's over;
  /// tests check that the two agree.)
  public static func murcko(_ mol: Molecule, perceiveRings: Bool = false) -> Molecule {
    let n = mol.atoms.count
    var ringAtom = [Bool](repeating: false, count: n)
    for b in mol.bonds where b.inRing {
      ringAtom[b.a] = true
      ringAtom[b.b] = true
    }
    guard ringAtom.contains(true) else { return Molecule() }
    // Peel side chains: repeatedly drop non-ring atoms with at most one remaining neighbour.
    var keep = [Bool](repeating: true, count: n)
    var degree = mol.adjacency.map(\.count)
    var queue: [Int] = []
    for i in 0..<n where !ringAtom[i] && degree[i] <= 1 {
      keep[i] = false
      queue.append(i)
    }
    var head = 0
    while head < queue.count {
      let v = queue[head]
      head += 1
      for b in mol.adjacency[v] {
        let w = mol.bonds[b].other(v)
        guard keep[w] else { continue }
        degree[w] -= 1
        if !ringAtom[w] && degree[w] <= 1 {
          keep[w] = false
          queue.append(w)
        }
      }
    }
    removeChelateLoops(mol, ringAtom: ringAtom, keep: &keep)
    // Atoms double-bonded to a ring or linker atom stay (without their own substituents).
    let core = keep
    for b in mol.bonds where b.order == .double {
      if core[b.a] && !core[b.b] { keep[b.b] = true }
      if core[b.b] && !core[b.a] { keep[b.a] = true }
    }
    return subgraph(mol, keep: keep, core: core, perceiveRings: perceiveRings)
  }

  /// Linker pieces that survive peeling only through dative bonds (which are not ring bonds): a
  /// piece of non-ring atoms attached to one ring system only (a metal chelated by two atoms of
  /// one ring system), or to two ring systems that are bonded to each other directly (a metal
  /// chelated by a bipyridine) is no linker, as in RDKit: the shortest path between the ring
  /// systems does not run through it. Without dative bonds no such piece exists (it would close
  /// a ring). Linear: each non-ring atom and bond is visited once.
  static func removeChelateLoops(_ mol: Molecule, ringAtom: [Bool], keep: inout [Bool]) {
    guard mol.bonds.contains(where: { $0.order == .dative }) else { return }
    let n = mol.atoms.count
    // Ring systems: ring atoms joined by ring bonds.
    var system = [Int](repeating: -1, count: n)
    var systems = 0
    for start in 0..<n where ringAtom[start] && system[start] < 0 {
      system[start] = systems
      var stack = [start]
      while let v = stack.popLast() {
        for b in mol.adjacency[v] where mol.bonds[b].inRing {
          let w = mol.bonds[b].other(v)
          if system[w] < 0 {
            system[w] = systems
            stack.append(w)
          }
        }
      }
      systems += 1
    }
    // Pairs of ring systems bonded directly.
    var bondedSystems = Set<[Int]>()
    for b in mol.bonds where ringAtom[b.a] && ringAtom[b.b] && system[b.a] != system[b.b] {
      bondedSystems.insert([min(system[b.a], system[b.b]), max(system[b.a], system[b.b])])
    }
    var piece = [Int](repeating: -1, count: n)
    for start in 0..<n where keep[start] && !ringAtom[start] && piece[start] < 0 {
      piece[start] = start
      var members = [start]
      var touched = Set<Int>()
      var k = 0
      while k < members.count {
        let v = members[k]
        k += 1
        for b in mol.adjacency[v] {
          let w = mol.bonds[b].other(v)
          guard keep[w] else { continue }
          if ringAtom[w] {
            touched.insert(system[w])
          } else if piece[w] < 0 {
            piece[w] = start
            members.append(w)
          }
        }
      }
      let t = touched.sorted()
      if t.count == 1 || (t.count == 2 && bondedSystems.contains(t)) {
        for v in members { keep[v] = false }
      }
    }
  }

  /// Canonical SMILES of the Murcko scaffold; "" when the molecule has no ring.
  public static func murckoSmiles(_ mol: Molecule) -> String {
    SmilesWriter().write(murcko(mol))
  }

  /// The generic framework of the Murcko scaffold (see the type's documentation).
  public static func genericMurcko(_ mol: Molecule) -> Molecule {
    generic(murcko(mol))
  }

  /// Canonical SMILES of the generic framework; "" when the molecule has no ring.
  public static func genericMurckoSmiles(_ mol: Molecule) -> String {
    SmilesWriter().write(genericMurcko(mol))
  }

  /// `scaffold` made generic: carbons, single bonds, no charges, isotopes or stereo.
  public static func generic(_ scaffold: Molecule) -> Molecule {
    var out = scaffold
    out.doubleBondStereo = []
    for b in out.bonds.indices {
      out.bonds[b].order = .single
      out.bonds[b].direction = 0
    }
    for i in out.atoms.indices {
      var a = Atom(element: out.atoms[i].element == 1 ? 1 : 6)
      a.radicals = out.atoms[i].radicals
      a.hydrogens = max(0, 4 - out.adjacency[i].count - a.radicals)
      if a.element == 1 { a.hydrogens = 0 }
      // Over valence (a carbon in place of a metal centre): no hydrogens, written in brackets.
      a.bracket = out.adjacency[i].count + a.radicals > 4 || a.radicals > 0
      out.atoms[i] = a
    }
    // Hydrogen atoms go, as RDKit's RemoveHs takes them off (a kept H is a plain H on a carbon).
    if out.atoms.contains(where: { $0.element == 1 }) {
      var keep = [Bool](repeating: true, count: out.atoms.count)
      for i in out.atoms.indices where out.atoms[i].element == 1 && out.adjacency[i].count == 1 {
        let heavy = out.bonds[out.adjacency[i][0]].other(i)
        guard out.atoms[heavy].element != 1 else { continue }
        keep[i] = false
        out.atoms[heavy].hydrogens += 1
      }
      out = rebuild(out, keep: keep).mol
    }
    Rings.perceive(&out)
    return out
  }

  /// The atoms of `mol` flagged in `keep`, with hydrogens, stereo and rings brought up to date
  /// as described in the type's documentation.
  static func subgraph(_ mol: Molecule, keep: [Bool], core: [Bool], perceiveRings: Bool = true) -> Molecule {
    // Neighbours lost, counted by the bonds that gave the atom valence (a donor losing its dative
    // bond to a metal loses no valence).
    var lost = [Int](repeating: 0, count: mol.atoms.count)
    var lostValence = [Int](repeating: 0, count: mol.atoms.count)
    for b in mol.bonds where keep[b.a] != keep[b.b] {
      let atom = keep[b.a] ? b.a : b.b
      lost[atom] += 1
      if b.order != .dative || b.b == atom { lostValence[atom] += 1 }
    }
    var (out, newIndex) = rebuild(mol, keep: keep)
    for b in out.bonds.indices { out.bonds[b].direction = 0 }
    // Unpaired electrons of odd-valence bracket atoms, as RDKit counts them (they stay on the
    // generic framework's carbons, as in RDKit).
    for old in mol.atoms.indices where keep[old] && mol.atoms[old].radicals == 0 && mol.atoms[old].bracket {
      let a = mol.atoms[old]
      if let allowed = Valence.allowed(element: a.element, charge: a.charge) {
        out.atoms[newIndex[old]].radicals = unpairedElectrons(mol, old, allowed: allowed)
      }
    }
    for old in mol.atoms.indices where keep[old] && lost[old] > 0 {
      let i = newIndex[old]
      var a = out.atoms[i]
      a.chirality = .none
      a.squarePlanar = 0
      a.stereoOrder = []
      a.stereoHSlot = 0
      if !core[old] && a.bracket {
        // An exocyclic double-bonded atom written in brackets keeps its hydrogens as written
        // (`C1CC(=[S+]C)C1` -> `[S+]=C1CCC1`); one of the organic subset takes its valence's.
      } else if a.aromatic && a.element != 6 {
        a.hydrogens += lostValence[old]
      } else if let allowed = Valence.allowed(element: a.element, charge: a.charge) {
        var bonds2 = 0
        for b in out.adjacency[i] {
          let bond = out.bonds[b]
          bonds2 += bond.order == .dative ? (bond.b == i ? 2 : 0) : bond.order.halfValence
        }
        if a.aromatic { bonds2 = Valence.roundAromatic(bonds2, allowed: allowed) }
        let used = bonds2 + 2 * a.radicals
        if let target = allowed.first(where: { $0 >= used }) { a.hydrogens = (target - used) / 2 } else { a.hydrogens = 0 }
      } else {
        a.hydrogens = 0
      }
      out.atoms[i] = a
    }
    // Double-bond configurations. At an end whose two substituents lost one, the configuration
    // stays (restated on the kept one when needed) only when the kept substituent has the higher
    // CIP priority: RDKit states a configuration for the substituent of higher priority and
    // drops it with that atom.
    var stereo: [DoubleBondStereo] = []
    for s in mol.doubleBondStereo {
      let bond = mol.bonds[s.bond]
      guard keep[bond.a] && keep[bond.b] else { continue }
      var refs = [s.reference.0, s.reference.1]
      var trans = s.trans
      var ok = true
      for (k, end) in [bond.a, bond.b].enumerated() {
        let far = bond.other(end)
        let subs = mol.neighbors(end).filter { $0 != far }
        let kept = subs.filter { keep[$0] }
        if kept.isEmpty {
          ok = false
        } else if kept.count < subs.count {
          let removed = subs.first { !keep[$0] }!
          if CIP.compare(mol, from: end, kept[0], removed) <= 0 {
            ok = false
          } else if refs[k] != kept[0] {
            refs[k] = kept[0]
            trans.toggle()
          }
        }
      }
      guard ok, let nb = out.bond(between: newIndex[bond.a], newIndex[bond.b]) else { continue }
      stereo.append(DoubleBondStereo(bond: nb, reference: (newIndex[refs[0]], newIndex[refs[1]]), trans: trans))
    }
    out.doubleBondStereo = stereo
    // The lone pair of a three-connected S, Se or P centre goes back to the implicit slot that
    // stereo perception turns into the lone pair again (it would otherwise be added twice).
    for i in out.atoms.indices where out.atoms[i].stereoOrder.contains(Stereo.lonePair) {
      out.atoms[i].stereoOrder = out.atoms[i].stereoOrder.map { $0 == Stereo.lonePair ? -1 : $0 }
    }
    if perceiveRings || !carryRings(from: mol, to: &out, newIndex: newIndex) { Rings.perceive(&out) }
    // Centres that are no longer centres (two equivalent neighbours now) lose their marks.
    Stereo.perceive(&out)
    return out
  }

  /// Gives `out` (the atoms of `mol` that `newIndex` numbers, their bonds in `mol`'s order) the
  /// rings of `mol`, when it keeps every ring bond of `mol`: its ring bonds are then the same
  /// subgraph, whose rings ``Rings/perceive(_:)`` finds the same (numbering bonds in the same
  /// order). False, leaving `out` as it was, when a ring bond was dropped or `mol` has so many
  /// rings that perception may have stopped at its bound on candidate cycles.
  static func carryRings(from mol: Molecule, to out: inout Molecule, newIndex: [Int]) -> Bool {
    guard mol.ringBonds.count <= 64 else { return false }
    var newBond = [Int](repeating: -1, count: mol.bonds.count)
    for (k, b) in mol.bonds.enumerated() where b.inRing {
      guard newIndex[b.a] >= 0, newIndex[b.b] >= 0, let nb = out.bond(between: newIndex[b.a], newIndex[b.b]) else { return false }
      newBond[k] = nb
    }
    for k in mol.bonds.indices where newBond[k] >= 0 { out.bonds[newBond[k]].inRing = true }
    var rings = mol.ringBonds.map { ring in ring.map { newBond[$0] } }
    if rings.contains(where: { $0.contains(-1) }) {
      for k in out.bonds.indices { out.bonds[k].inRing = false }
      return false
    }
    for k in rings.indices { rings[k].sort() }
    rings.sort { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
    Rings.setRings(&out, rings)
    return true
  }

  /// Unpaired electrons RDKit's reader gives a bracket atom whose valence lies between two allowed
  /// ones (`[S@]` with three bonds: one, up to valence 4; `[S+]` with valence 4: one, up to 5),
  /// which tagdata's reader leaves as an odd valence: they stay with the atom when it loses a
  /// neighbour, and take the place of a hydrogen (`N1CC[S@](C)C1` -> `C1C[SH]CN1`).
  static func unpairedElectrons(_ mol: Molecule, _ i: Int, allowed: [Int]) -> Int {
    let a = mol.atoms[i]
    guard a.bracket, !a.aromatic else { return 0 }
    let total = Valence.bondHalfValence(mol, i) + 2 * a.hydrogens
    guard !allowed.contains(total), let next = allowed.first(where: { $0 > total }), total > (allowed.first ?? 0) else { return 0 }
    return (next - total) / 2
  }

  /// The atoms flagged in `keep` and the bonds between them, in their order; atom and bond
  /// references (chirality orders, double-bond stereo) renumbered, those to dropped atoms
  /// removed. Returns the molecule and each old atom's new index (-1 when dropped).
  static func rebuild(_ mol: Molecule, keep: [Bool]) -> (mol: Molecule, newIndex: [Int]) {
    var newIndex = [Int](repeating: -1, count: mol.atoms.count)
    var out = Molecule()
    out.atoms.reserveCapacity(mol.atoms.count)
    for (i, a) in mol.atoms.enumerated() where keep[i] { newIndex[i] = out.addAtom(a) }
    var newBond = [Int](repeating: -1, count: mol.bonds.count)
    for (k, b) in mol.bonds.enumerated() where keep[b.a] && keep[b.b] {
      newBond[k] = out.addBond(newIndex[b.a], newIndex[b.b], b.order, direction: b.direction)
    }
    for i in out.atoms.indices where !out.atoms[i].stereoOrder.isEmpty {
      let order = out.atoms[i].stereoOrder
      if order.contains(where: { $0 >= 0 && newIndex[$0] < 0 }) {
        out.atoms[i].stereoOrder = []
        out.atoms[i].chirality = .none
        out.atoms[i].squarePlanar = 0
      } else {
        out.atoms[i].stereoOrder = order.map { $0 < 0 ? $0 : newIndex[$0] }
      }
    }
    out.doubleBondStereo = mol.doubleBondStereo.compactMap { s in
      guard newBond[s.bond] >= 0, newIndex[s.reference.0] >= 0, newIndex[s.reference.1] >= 0 else { return nil }
      return DoubleBondStereo(bond: newBond[s.bond], reference: (newIndex[s.reference.0], newIndex[s.reference.1]), trans: s.trans)
    }
    return (out, newIndex)
  }
}

/// CIP priority (rule 1a, atomic number, then mass number) of two substituents of one atom,
/// compared sphere by sphere in the hierarchical digraph: at each sphere the atomic numbers of
/// the atoms reached (duplicates for double and triple bonds, 1 for each hydrogen), highest
/// first. Explores at most 8 spheres and 4,096 atoms per branch (the cost of one comparison is
/// bounded whatever the molecule); a tie there counts as a tie.
enum CIP {
  /// 1 when `x` has priority over `y` seen from `root`, -1 when `y` has, 0 for a tie.
  static func compare(_ mol: Molecule, from root: Int, _ x: Int, _ y: Int) -> Int {
    if mol.atoms[x].element != mol.atoms[y].element { return mol.atoms[x].element > mol.atoms[y].element ? 1 : -1 }
    if mol.atoms[x].isotope != mol.atoms[y].isotope { return mol.atoms[x].isotope > mol.atoms[y].isotope ? 1 : -1 }
    var fx = Branch(mol, root: root, start: x), fy = Branch(mol, root: root, start: y)
    for _ in 0..<8 {
      if fx.seen.count > 4096 || fy.seen.count > 4096 { return 0 }
      let sx = fx.nextSphere(), sy = fy.nextSphere()
      if sx != sy { return sx.lexicographicallyPrecedes(sy) ? -1 : 1 }
      if sx.isEmpty { return 0 }
    }
    return 0
  }

  /// One branch explored sphere by sphere, each atom once (a bound on the work: at most the
  /// atoms of the molecule over all spheres).
  struct Branch {
    let mol: Molecule
    var frontier: [(atom: Int, parent: Int)]
    var seen: Set<Int>
    init(_ mol: Molecule, root: Int, start: Int) {
      self.mol = mol
      frontier = [(start, root)]
      seen = [root, start]
    }
    /// The atomic numbers of the next sphere, highest first (sorted descending).
    mutating func nextSphere() -> [Int] {
      var numbers: [Int] = []
      var next: [(atom: Int, parent: Int)] = []
      for (atom, parent) in frontier {
        numbers += [Int](repeating: 1, count: mol.atoms[atom].hydrogens)
        for b in mol.adjacency[atom] {
          let bond = mol.bonds[b]
          let n = bond.other(atom)
          if n == parent { continue }
          let z = mol.atoms[n].element
          numbers.append(z)
          switch bond.order {
          case .double, .aromatic: numbers.append(z)
          case .triple: numbers += [z, z]
          default: break
          }
          if seen.insert(n).inserted { next.append((n, atom)) }
        }
      }
      frontier = next
      return numbers.sorted(by: >)
    }
  }
}
