/// Turns a parsed graph into a checked molecule: explicit [H] atoms folded into counts,
/// charge-separated nitro groups and N-oxides, implicit hydrogens, valence check, Kekulé
/// structure for aromatic input, ring perception, aromaticity (RDKit model), radicals and
/// stereo perception.
public enum Sanitizer {
  public static func sanitize(_ input: Molecule) throws(SmilesError) -> Molecule {
    try sanitize(input, foldAlso: [])
  }

  /// `foldAlso`: H atoms of the input folded into counts even though they looked like the
  /// reference of a double-bond configuration (see the end of this function).
  static func sanitize(_ input: Molecule, foldAlso: Set<Int>) throws(SmilesError) -> Molecule {
    var (mol, newIndex) = removeHydrogenAtoms(input, foldAlso: foldAlso)
    // An atom with an aromatic bond (`C:C`) is aromatic, whatever its letter case.
    for b in mol.bonds where b.order == .aromatic {
      mol.atoms[b.a].aromatic = true
      mol.atoms[b.b].aromatic = true
    }
    cleanUp(&mol)
    cleanUpOrganometallics(&mol)
    var explicitH = mol.atoms.map(\.hydrogens)
    try assignHydrogens(&mol, explicitH: &explicitH, aromaticRounding: true)
    Rings.perceive(&mol)
    for (i, a) in mol.atoms.enumerated() where a.aromatic {
      if !mol.adjacency[i].contains(where: { mol.bonds[$0].inRing }) { throw SmilesError(.aromaticOutsideRing(atom: i)) }
    }
    try Kekulizer.kekulize(&mol)
    try assignHydrogens(&mol, explicitH: &explicitH, aromaticRounding: false)
    assignRadicals(&mol)
    Aromaticity.perceive(&mol)
    Stereo.perceive(&mol)
    // An H atom kept for a double-bond configuration that turned out not to be stereo (the other
    // end has two equivalent substituents, or the H's own atom carries another hydrogen) is
    // folded into its atom after all: sanitize again without it.
    if foldAlso.isEmpty, mol.atoms.contains(where: { $0.element == 1 }) {
      var stereoReferences = Set<Int>()
      for s in mol.doubleBondStereo {
        stereoReferences.insert(s.reference.0)
        stereoReferences.insert(s.reference.1)
      }
      var original = [Int](repeating: -1, count: mol.atoms.count)
      for (i, n) in newIndex.enumerated() where n >= 0 { original[n] = i }
      var fold = Set<Int>()
      for (i, a) in mol.atoms.enumerated() where isPlainHydrogen(a) && mol.degree(i) == 1 {
        let heavy = mol.neighbors(i)[0]
        guard mol.atoms[heavy].element != 1, mol.bonds[mol.adjacency[i][0]].order == .single else { continue }
        if !stereoReferences.contains(i) || mol.atoms[heavy].hydrogens > 0 { fold.insert(original[i]) }
      }
      if !fold.isEmpty { return try sanitize(input, foldAlso: fold) }
    }
    return mol
  }

  static func isPlainHydrogen(_ a: Atom) -> Bool {
    a.element == 1 && a.isotope == 0 && a.charge == 0 && a.atomClass == 0 && a.hydrogens == 0
  }

  /// `[H]` atoms bonded to one heavy atom, with no isotope, charge or class, become that atom's
  /// hydrogen count (their place in a chirality order becomes the implicit-H slot).
  /// Returns the new molecule and each input atom's index in it (-1 for folded atoms).
  static func removeHydrogenAtoms(_ mol: Molecule, foldAlso: Set<Int> = []) -> (Molecule, [Int]) {
    var drop = Set<Int>()
    var out = mol
    // An H that is the only reference of a double-bond configuration (the H of an imine drawn
    // in a molfile) stays an atom: without it the configuration could not be written.
    var keep = Set<Int>()
    for s in mol.doubleBondStereo {
      let bond = mol.bonds[s.bond]
      for (end, ref) in [(bond.a, s.reference.0), (bond.b, s.reference.1)] where mol.atoms[ref].element == 1 {
        if !foldAlso.contains(ref),
          mol.neighbors(end).filter({ $0 != bond.other(end) && mol.atoms[$0].element != 1 }).isEmpty
        {
          keep.insert(ref)
        }
      }
    }
    // A `/` `\` mark on an [H] of a double-bond atom (SMILES input) sets that double bond only.
    // With another substituent on the atom, the mark is restated on it (opposite sense) as a
    // hint and the H folded; without one (an imine N-H), the H stays an atom.
    var hints: [Int: DirectionHint] = [:]
    for (i, a) in mol.atoms.enumerated() where isPlainHydrogen(a) && mol.degree(i) == 1 && !foldAlso.contains(i) {
      let hb = mol.bonds[mol.adjacency[i][0]]
      let heavy = hb.other(i)
      guard hb.direction != 0, hb.order == .single, mol.atoms[heavy].element != 1,
        mol.adjacency[heavy].filter({ mol.bonds[$0].order == .double }).count == 1
      else { continue }
      let others = mol.adjacency[heavy].filter { mol.bonds[$0].order == .single && mol.bonds[$0].other(heavy) != i }
      let heavyOthers = others.filter { mol.atoms[mol.bonds[$0].other(heavy)].element != 1 }
      if heavyOthers.isEmpty {
        keep.insert(i)
        continue
      }
      // An explicit mark on the other substituent wins; two H marks on one atom are left alone.
      guard heavyOthers.count == 1, mol.bonds[heavyOthers[0]].direction == 0, hints[heavy] == nil else { continue }
      let upH = hb.a == heavy ? hb.direction > 0 : hb.direction < 0
      hints[heavy] = DirectionHint(neighbor: mol.bonds[heavyOthers[0]].other(heavy), up: !upH)
    }
    for (i, a) in mol.atoms.enumerated() where isPlainHydrogen(a) && mol.degree(i) == 1 && !keep.contains(i) {
      let heavy = mol.neighbors(i)[0]
      guard mol.atoms[heavy].element != 1, mol.bonds[mol.adjacency[i][0]].order == .single else { continue }
      drop.insert(i)
      out.atoms[heavy].hydrogens += 1
      if let k = out.atoms[heavy].stereoOrder.firstIndex(of: i) { out.atoms[heavy].stereoOrder[k] = -1 }
    }
    if drop.isEmpty { return (mol, Array(mol.atoms.indices)) }
    for (atom, hint) in hints where !drop.contains(atom) && !drop.contains(hint.neighbor) {
      out.directionHints[atom] = hint
    }
    var newIndex = [Int](repeating: -1, count: mol.atoms.count)
    var newBond = [Int](repeating: -1, count: mol.bonds.count)
    var result = Molecule()
    for (i, a) in out.atoms.enumerated() where !drop.contains(i) { newIndex[i] = result.addAtom(a) }
    for (k, b) in out.bonds.enumerated() where !drop.contains(b.a) && !drop.contains(b.b) {
      newBond[k] = result.addBond(newIndex[b.a], newIndex[b.b], b.order, direction: b.direction)
    }
    // Double-bond configurations set from coordinates follow the renumbering.
    result.doubleBondStereo = out.doubleBondStereo.compactMap { s in
      guard newBond[s.bond] >= 0, newIndex[s.reference.0] >= 0, newIndex[s.reference.1] >= 0 else { return nil }
      return DoubleBondStereo(bond: newBond[s.bond], reference: (newIndex[s.reference.0], newIndex[s.reference.1]), trans: s.trans)
    }
    for i in result.atoms.indices {
      result.atoms[i].stereoOrder = result.atoms[i].stereoOrder.map { $0 < 0 ? $0 : newIndex[$0] }
    }
    result.unknownConfiguration = Set(out.unknownConfiguration.map { newBond[$0] }.filter { $0 >= 0 })
    for (atom, hint) in out.directionHints {
      result.directionHints[newIndex[atom]] = DirectionHint(neighbor: newIndex[hint.neighbor], up: hint.up)
    }
    return (result, newIndex)
  }

  /// Neutral hypervalent groups written without charges, rewritten charge-separated as RDKit's
  /// cleanUp does: nitro `N(=O)=O` and aromatic N-oxide `n=O`.
  static func cleanUp(_ mol: inout Molecule) {
    // Halogen oxo acids: Cl, Br, I bonded only to O, with n double bonds to terminal O, become [X+n] with [O-].
    for i in mol.atoms.indices where [17, 35, 53].contains(mol.atoms[i].element) && mol.atoms[i].charge == 0 {
      let oxo = mol.adjacency[i].filter {
        let b = mol.bonds[$0], o = b.other(i)
        return b.order == .double && mol.atoms[o].element == 8 && mol.atoms[o].charge == 0 && mol.degree(o) == 1
      }
      // Only oxo acids and their anions: every neighbour an oxygen (RDKit leaves O=I(=O)c1ccccc1).
      guard !oxo.isEmpty, oxo.count <= 3, mol.neighbors(i).allSatisfy({ mol.atoms[$0].element == 8 }) else { continue }
      for b in oxo {
        mol.bonds[b].order = .single
        mol.atoms[mol.bonds[b].other(i)].charge = -1
      }
      mol.atoms[i].charge = oxo.count
    }
    // Azides written N=N#N: the middle N goes N+, the terminal one N-.
    for i in mol.atoms.indices where mol.atoms[i].element == 7 && mol.atoms[i].charge == 0 && mol.degree(i) == 2 {
      let bonds = mol.adjacency[i]
      guard let t = bonds.first(where: { mol.bonds[$0].order == .triple }),
        bonds.contains(where: { mol.bonds[$0].order == .double && mol.atoms[mol.bonds[$0].other(i)].element == 7 })
      else { continue }
      let terminal = mol.bonds[t].other(i)
      guard mol.atoms[terminal].element == 7, mol.atoms[terminal].charge == 0, mol.degree(terminal) == 1 else { continue }
      mol.bonds[t].order = .double
      mol.atoms[i].charge = 1
      mol.atoms[terminal].charge = -1
    }
    for i in mol.atoms.indices where mol.atoms[i].element == 7 && mol.atoms[i].charge == 0 {
      let ev2 = Valence.bondHalfValence(mol, i) + 2 * mol.atoms[i].hydrogens
      let doubleToO = mol.adjacency[i].filter {
        let b = mol.bonds[$0]
        return b.order == .double && mol.atoms[b.other(i)].element == 8 && mol.atoms[b.other(i)].charge == 0
          && mol.degree(b.other(i)) == 1
      }
      guard !doubleToO.isEmpty else { continue }
      if (ev2 == 10 && !mol.atoms[i].aromatic) || (mol.atoms[i].aromatic && ev2 >= 7) {
        let b = doubleToO[0]
        mol.bonds[b].order = .single
        mol.atoms[i].charge = 1
        mol.atoms[mol.bonds[b].other(i)].charge = -1
      }
    }
  }

  /// A non-metal bonded to a metal by single bonds and over its valence (`[NH3][Pt]`) gives
  /// those bonds as dative bonds, donor to metal, as RDKit's cleanup does.
  static func cleanUpOrganometallics(_ mol: inout Molecule) {
    for i in mol.atoms.indices where !Metals.isMetal(mol.atoms[i].element) && mol.atoms[i].element > 1 {
      let a = mol.atoms[i]
      guard let allowed = Valence.allowed(element: a.element, charge: a.charge), let maximum = allowed.last else { continue }
      var ev2 = Valence.bondHalfValence(mol, i) + 2 * a.hydrogens
      if a.aromatic { ev2 = Valence.roundAromatic(ev2, allowed: allowed) }
      for b in mol.adjacency[i] where ev2 > maximum {
        let bond = mol.bonds[b]
        let other = bond.other(i)
        guard bond.order == .single, Metals.isMetal(mol.atoms[other].element) else { continue }
        mol.bonds[b] = Bond(a: i, b: other, order: .dative, direction: 0, inRing: bond.inRing)
        ev2 -= 2
      }
    }
  }

  static func assignHydrogens(_ mol: inout Molecule, explicitH: inout [Int], aromaticRounding: Bool) throws(SmilesError) {
    for i in mol.atoms.indices {
      let a = mol.atoms[i]
      let bondsV = Valence.bondHalfValence(mol, i)
      let ev2 = bondsV + 2 * explicitH[i]
      guard let allowed = Valence.allowed(element: a.element, charge: a.charge) else {
        mol.atoms[i].hydrogens = explicitH[i]
        continue
      }
      var total = ev2
      if a.aromatic && aromaticRounding { total = Valence.roundAromatic(ev2, allowed: allowed) }
      let symbol = PeriodicTable.elements[a.element].symbol
      if a.bracket || a.element == 0 {
        // No allowed valence at all (a charge beyond the element's electrons: [N+9]) allows no bond.
        if total > (allowed.last ?? 0) {
          throw SmilesError(.valence(atom: i, symbol: symbol, valence: total / 2))
        }
        mol.atoms[i].hydrogens = explicitH[i]
        continue
      }
      // Organic subset: implicit hydrogens up to the next allowed valence.
      var implicit = 0
      if a.aromatic && aromaticRounding {
        if let dv = allowed.first, total <= dv { implicit = (dv - total) / 2 }
        if !allowed.contains(total) && total > (allowed.first ?? 0) {
          throw SmilesError(.valence(atom: i, symbol: symbol, valence: total / 2))
        }
      } else {
        let withRadicals = total + 2 * a.radicals
        guard let target = allowed.first(where: { $0 >= withRadicals }) else {
          throw SmilesError(.valence(atom: i, symbol: symbol, valence: (total + 1) / 2))
        }
        implicit = (target - withRadicals) / 2
      }
      mol.atoms[i].hydrogens = explicitH[i] + implicit
    }
    if aromaticRounding {
      // Hydrogens decided on the aromatic form are kept through kekulization.
      for i in mol.atoms.indices where !mol.atoms[i].bracket { explicitH[i] = mol.atoms[i].hydrogens }
    }
  }

  /// Bracket atoms below their default valence carry the difference as radical electrons.
  static func assignRadicals(_ mol: inout Molecule) {
    for i in mol.atoms.indices where mol.atoms[i].bracket {
      let a = mol.atoms[i]
      guard let allowed = Valence.allowed(element: a.element, charge: a.charge), let dv = allowed.first else { continue }
      let ev2 = Valence.bondHalfValence(mol, i) + 2 * a.hydrogens
      if ev2 < dv { mol.atoms[i].radicals = (dv - ev2) / 2 }
    }
  }
}
