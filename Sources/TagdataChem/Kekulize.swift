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
    // A carbanion is like N, a dianion like O ([c-2], with two lone pairs, needs no double bond).
    if a.element == 6 && a.charge < 0 { shift = a.charge }
    allowed = allowed.map { $0 + shift }
    // Two or more charges: the valences of the isoelectronic element ([p+2] like Al, [b-2]
    // like N).
    if abs(a.charge) >= 2, let iso = Valence.allowed(element: a.element, charge: a.charge), !iso.isEmpty { allowed = iso.map { $0 / 2 } }
    var sbo = 0  // aromatic bonds count 1
    for b in mol.adjacency[i] {
      let bond = mol.bonds[b]
      // A dative bond counts for its acceptor (as in the valence model): `N->c1ccccc1`.
      sbo += bond.order == .aromatic ? 1 : bond.order == .dative ? (bond.b == i ? 1 : 0) : Int(bond.order.halfValence / 2)
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
    // An aromatic `*` stands for any atom: it may take a double bond or not (optional partner),
    // unless it has a multiple bond outside the ring already (`C=*1:c:c...`), as a carbon
    // with an exocyclic double bond takes none in the ring.
    var optional = [Bool](repeating: false, count: mol.atoms.count)
    for i in mol.atoms.indices where mol.atoms[i].aromatic && mol.atoms[i].element == 0 {
      var multiple = false
      for b in mol.adjacency[i] where [.double, .triple, .quadruple].contains(mol.bonds[b].order) { multiple = true }
      optional[i] = !multiple
    }
    var matched = [Int](repeating: -1, count: mol.atoms.count)  // partner atom
    var candidates = mol.atoms.indices.filter { need[$0] }
    if let priority { candidates.sort { priority[$0] < priority[$1] } }
    func match(_ need: [Bool], _ optional: [Bool], _ candidates: [Int]) -> Bool {
      matchGreedily(mol, need: need, optional: optional, candidates: candidates, priority: priority, matched: &matched)
        || matchBySearch(mol, need: need, optional: optional, candidates: candidates, priority: priority, matched: &matched)
    }
    // Aromatic `*` first all take a double bond where they can (a `*=*` or `*=c` of the
    // structure that was written aromatic comes back), else each only as the others need.
    var dummiesMatched = false
    if optional.contains(true) {
      var all = need
      for i in all.indices where optional[i] { all[i] = true }
      var allCandidates = mol.atoms.indices.filter { all[$0] }
      if let priority { allCandidates.sort { priority[$0] < priority[$1] } }
      let none = [Bool](repeating: false, count: mol.atoms.count)
      dummiesMatched = match(all, none, allCandidates)
      if !dummiesMatched { for i in matched.indices { matched[i] = -1 } }
    }
    if !dummiesMatched && !match(need, optional, candidates) {
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
  /// The atoms joined to `v` by an aromatic bond that need a double bond, in priority (else
  /// index) order, then the optional ones (aromatic `*`).
  static func partners(_ mol: Molecule, _ v: Int, need: [Bool], optional: [Bool], priority: [Int]?) -> [Int] {
    var o: [Int] = []
    var extra: [Int] = []
    for b in mol.adjacency[v] where mol.bonds[b].order == .aromatic {
      let w = mol.bonds[b].other(v)
      if w == v { continue }
      if need[w] { o.append(w) } else if optional[w] { extra.append(w) }
    }
    if let priority {
      if o.count > 1 { o.sort { priority[$0] < priority[$1] } }
      if extra.count > 1 { extra.sort { priority[$0] < priority[$1] } }
    }
    return o + extra
  }

  /// Linear-time matching: an atom left with one possible partner takes it (forced), and when
  /// none is forced the first unmatched atom (in candidate order) takes its first partner. This
  /// gives every ring and almost every fused system its Kekulé structure; returns whether every
  /// atom got a partner (`matched` is reset when not).
  static func matchGreedily(_ mol: Molecule, need: [Bool], optional: [Bool], candidates: [Int], priority: [Int]?,
                            matched: inout [Int]) -> Bool {
    var partners: [Int: [Int]] = [:]
    partners.reserveCapacity(candidates.count)
    var options = [Int](repeating: 0, count: mol.atoms.count)
    var forced: [Int] = []
    for v in candidates {
      let p = Self.partners(mol, v, need: need, optional: optional, priority: priority)
      partners[v] = p
      options[v] = p.count
      if p.count <= 1 { forced.append(v) }
    }
    for v in mol.atoms.indices where optional[v] { partners[v] = Self.partners(mol, v, need: need, optional: optional, priority: priority) }
    forced.reverse()  // taken from the end: candidate order
    func match(_ x: Int, _ w: Int) {
      matched[x] = w
      matched[w] = x
      for y in [x, w] {
        for z in partners[y]! where matched[z] < 0 && need[z] {
          options[z] -= 1
          if options[z] <= 1 { forced.append(z) }
        }
      }
    }
    var cursor = 0
    var complete = true
    while true {
      while let x = forced.popLast() {
        guard matched[x] < 0 else { continue }
        guard let w = partners[x]!.first(where: { matched[$0] < 0 }) else {
          complete = false
          continue
        }
        match(x, w)
      }
      while cursor < candidates.count && matched[candidates[cursor]] >= 0 { cursor += 1 }
      guard cursor < candidates.count else { break }
      let x = candidates[cursor]
      guard let w = partners[x]!.first(where: { matched[$0] < 0 }) else {
        complete = false
        cursor += 1
        continue
      }
      match(x, w)
    }
    if !complete { for v in matched.indices { matched[v] = -1 } }
    return complete
  }

  /// Backtracking search (after a greedy choice went wrong): the unmatched atom with the fewest
  /// options first, on an explicit stack, at most 200,000 steps and only for systems of up to
  /// 2,000 atoms (each step scans them all).
  static func matchBySearch(_ mol: Molecule, need: [Bool], optional: [Bool], candidates: [Int], priority: [Int]?,
                            matched: inout [Int]) -> Bool {
    guard candidates.count <= 2_000 else { return false }
    func options(_ v: Int) -> [Int] { partners(mol, v, need: need, optional: optional, priority: priority).filter { matched[$0] < 0 } }
    var steps = 0
    var stack: [(atom: Int, options: [Int], next: Int)] = []
    while true {
      steps += 1
      if steps > 200_000 { return false }
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
      stack.append((best, bestOptions, 0))
      // Next untried option of the innermost frame that has one, undoing the others.
      while true {
        guard let top = stack.last else { return false }
        if top.next > 0 {
          let w = top.options[top.next - 1]
          matched[top.atom] = -1
          matched[w] = -1
        }
        if top.next < top.options.count {
          let w = top.options[top.next]
          matched[top.atom] = w
          matched[w] = top.atom
          stack[stack.count - 1].next += 1
          break
        }
        stack.removeLast()
      }
    }
  }

  /// Kekulé form of a sanitized (aromatic) molecule, for Kekulé SMILES output.
  static func kekulizeForOutput(_ mol: inout Molecule, priority: [Int]) {
    var copy = mol
    if (try? kekulize(&copy, priority: priority)) != nil { mol = copy }
  }
}
