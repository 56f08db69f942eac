/// Gives aromatic input a Kekulé structure: every aromatic atom that needs a double bond gets
/// exactly one, along aromatic bonds. The search is a matching with backtracking over each
/// aromatic system, atoms taken in index order.
enum Kekulizer {
  /// Whether an aromatic atom needs a double bond in the Kekulé form.
  static func needsDoubleBond(_ mol: Molecule, _ i: Int) -> Bool {
    let a = mol.atoms[i]
    if a.element == 0 { return false }
    guard var allowed = Valence.allowed(element: a.element, charge: 0)?.map({ $0 / 2 }), !allowed.isEmpty else { return false }
    // Charge moves the default valence: up for atoms right of carbon, down for the early ones
    // and for carbocations.
    var shift = a.charge
    if a.element < 6 || (a.element == 6 && a.charge > 0) || [11, 12, 13, 19, 20].contains(a.element) { shift = -a.charge }
    if a.element == 6 && a.charge < 0 { shift = -1 }
    allowed = allowed.map { $0 + shift }
    var sbo = 0  // aromatic bonds count 1
    for b in mol.adjacency[i] {
      let bond = mol.bonds[b]
      sbo += bond.order == .aromatic ? 1 : Int(bond.order.halfValence / 2)
    }
    sbo += a.hydrogens
    let dv = allowed.first(where: { $0 >= sbo }) ?? allowed.last!
    if mol.valenceDegree(i) + a.hydrogens + a.radicals >= dv { return false }
    // A bracket atom two short of its valence may take the double bond and keep a radical
    // (`[n+]1ccccc1`), as RDKit does.
    return dv == sbo + 1 + a.radicals || (a.bracket && a.radicals == 0 && dv == sbo + 2)
  }

  /// `priority` (optional, per atom) orders the search: with canonical ranks, equivalent inputs
  /// get the same Kekulé structure.
  static func kekulize(_ mol: inout Molecule, priority: [Int]? = nil) throws(SmilesError) {
    let aromaticBonds = mol.bonds.indices.filter { mol.bonds[$0].order == .aromatic }
    guard !aromaticBonds.isEmpty || mol.atoms.contains(where: \.aromatic) else { return }
    // Atoms that must end with one double bond.
    var need = [Bool](repeating: false, count: mol.atoms.count)
    for i in mol.atoms.indices where mol.atoms[i].aromatic { need[i] = needsDoubleBond(mol, i) }
    var matched = [Int](repeating: -1, count: mol.atoms.count)  // partner atom
    var steps = 0
    var candidates = mol.atoms.indices.filter { need[$0] }
    if let priority { candidates.sort { priority[$0] < priority[$1] } }

    func options(_ v: Int) -> [Int] {
      let o = mol.adjacency[v].compactMap { b -> Int? in
        let bond = mol.bonds[b]
        guard bond.order == .aromatic else { return nil }
        let w = bond.other(v)
        return need[w] && matched[w] < 0 ? w : nil
      }
      guard let priority else { return o }
      return o.sorted { priority[$0] < priority[$1] }
    }

    func solve() -> Bool {
      steps += 1
      if steps > 200_000 { return false }
      // The unmatched atom with the fewest options first (fails fast on impossible systems).
      var best = -1
      var bestOptions: [Int] = []
      for v in candidates where matched[v] < 0 {
        let o = options(v)
        if best < 0 || o.count < bestOptions.count {
          best = v
          bestOptions = o
          if o.count <= 1 { break }
        }
      }
      if best < 0 { return true }
      for w in bestOptions {
        matched[best] = w
        matched[w] = best
        if solve() { return true }
        matched[best] = -1
        matched[w] = -1
      }
      return false
    }

    if !solve() {
      let unmatched = candidates.filter { matched[$0] < 0 }
      throw SmilesError(.kekulize(atoms: unmatched.isEmpty ? candidates : unmatched))
    }
    for b in aromaticBonds {
      let bond = mol.bonds[b]
      mol.bonds[b].order = matched[bond.a] == bond.b ? .double : .single
    }
    for i in mol.atoms.indices { mol.atoms[i].aromatic = false }
  }
}

extension Kekulizer {
  /// Kekulé form of a sanitized (aromatic) molecule, for Kekulé SMILES output.
  static func kekulizeForOutput(_ mol: inout Molecule, priority: [Int]) {
    var copy = mol
    if (try? kekulize(&copy, priority: priority)) != nil { mol = copy }
  }
}
