/// Writes canonical SMILES.
///
/// Each connected component is ranked on its own (``CanonicalRanking``) and written by a
/// depth-first walk from its lowest-ranked atom: at each atom, ring closures first, then
/// branches in rank order with chain (non-ring) neighbours before ring neighbours and multiple
/// ring bonds before single ones; the last branch continues the main chain. Ring numbers are
/// the lowest free ones, reused as soon as they close. Components are sorted as strings and
/// joined with `.`. Brackets only where an atom needs them; `@`/`@@` recomputed for the output
/// order; `/` `\` placed for stereo double bonds.
public struct SmilesWriter {
  public var isomeric = true
  public var kekule = false

  public init(isomeric: Bool = true, kekule: Bool = false) {
    self.isomeric = isomeric
    self.kekule = kekule
  }

  public func write(_ input: Molecule) -> String {
    var mol = input
    if !isomeric {
      for i in mol.atoms.indices {
        mol.atoms[i].chirality = .none
        mol.atoms[i].squarePlanar = 0
        mol.atoms[i].isotope = 0
      }
      mol.doubleBondStereo = []
    }
    var parts: [ComponentWriter.Output] = []
    let ranking = CanonicalRanking(isomeric: isomeric)
    // Each component on its own, in arrays of its own size (20,000 benzenes joined by '.' cost
    // 20,000 times the whole input when every component's ranks spanned all atoms).
    for var part in mol.componentMolecules() {
      let all = Array(part.atoms.indices)
      if kekule {
        // Kekulé structure chosen in canonical-rank order, so that it is canonical too.
        Kekulizer.kekulizeForOutput(&part, priority: ranking.ranks(part, atoms: all))
      }
      let stereo = isomeric && (!part.doubleBondStereo.isEmpty
        || part.atoms.contains { $0.chirality != .none || $0.squarePlanar != 0 })
      if stereo {
        let candidates = ranking.rankVariants(part, atoms: all).map {
          ComponentWriter(mol: part, ranks: $0, kekule: kekule).write(all)
        }
        parts.append(candidates.min { $0.text.utf8.lexicographicallyPrecedes($1.text.utf8) }!)
      } else {
        let ranks = ranking.ranks(part, atoms: all)
        parts.append(ComponentWriter(mol: part, ranks: ranks, kekule: kekule).write(all))
      }
    }
    parts.sort { $0.text.utf8.lexicographicallyPrecedes($1.text.utf8) }
    let smiles = parts.map(\.text).joined(separator: ".")
    guard parts.contains(where: { !$0.unknownConfiguration.isEmpty }) else { return smiles }
    // Bond numbers of the CXSMILES block count over the whole string.
    var unknown: [Int] = []
    var offset = 0
    for p in parts {
      unknown += p.unknownConfiguration.map { $0 + offset }
      offset += p.bondCount
    }
    return smiles + " |ctu:" + unknown.map(String.init).joined(separator: ",") + "|"
  }
}

final class ComponentWriter {
  let mol: Molecule
  let ranks: [Int]
  let kekule: Bool
  @exclusivity(unchecked) var visited: [Bool]
  @exclusivity(unchecked) var onStack: [Bool]
  @exclusivity(unchecked) var children: [[Int]]  // bond indices to tree children, in walk order
  @exclusivity(unchecked) var closures: [[Int]]  // ring-closure bonds at each atom
  @exclusivity(unchecked) var isClosure: BondFlags
  @exclusivity(unchecked) var parentBond: [Int]
  @exclusivity(unchecked) var emitted: [Int] = []  // atoms in output order
  @exclusivity(unchecked) var emitPosition: [Int]
  @exclusivity(unchecked) var ringNumber: BondTable<Int>  // bond -> ring number while open
  @exclusivity(unchecked) var openNumbers: [Bool] = []  // ring numbers in use
  @exclusivity(unchecked) var out: [UInt8] = []
  @exclusivity(unchecked) var bondDirection: BondTable<Int8>  // bond -> +1 '/', -1 '\' as written first -> second
  @exclusivity(unchecked) var bondsWritten = 0
  @exclusivity(unchecked) var outputIndex: BondTable<Int>  // bond -> its number in order of appearance
  let stereoBonds: Set<Int>  // bonds with a double-bond configuration

  init(mol: Molecule, ranks: [Int], kekule: Bool) {
    self.mol = mol
    self.ranks = ranks
    self.kekule = kekule
    visited = [Bool](repeating: false, count: mol.atoms.count)
    onStack = visited
    children = [[Int]](repeating: [], count: mol.atoms.count)
    closures = children
    parentBond = [Int](repeating: -1, count: mol.atoms.count)
    isClosure = BondFlags(mol.bonds.count)
    ringNumber = BondTable(mol.bonds.count)
    bondDirection = BondTable(mol.bonds.count)
    outputIndex = BondTable(mol.bonds.count)
    emitPosition = [Int](repeating: -1, count: mol.atoms.count)
    stereoBonds = Set(mol.doubleBondStereo.map(\.bond))
  }

  func order(_ b: Int) -> BondOrder { mol.bonds[b].order }

  /// Sort key among an atom's unvisited neighbours: chain bonds first, then ring bonds with
  /// higher orders first; within each, by neighbour rank.
  func key(_ atom: Int, _ b: Int) -> (Int, Int, Int) {
    let bond = mol.bonds[b]
    let other = bond.other(atom)
    if bond.inRing { return (1, 32 - Int(bond.order.rawValue), ranks[other]) }
    return (0, 0, ranks[other])
  }

  /// The depth-first walk that fixes the spanning tree and the ring closures, with its own
  /// stack (a 100,000-atom chain or ring would overflow the thread's). At each atom, its bonds
  /// are ordered when it is entered: closures to atoms on the walk's stack first, then chain
  /// bonds, then ring bonds.
  func findClosures(_ start: Int) {
    var stack: [(atom: Int, bonds: [Int], next: Int)] = []
    func enter(_ v: Int) {
      visited[v] = true
      onStack[v] = true
      let bonds = mol.adjacency[v].filter { $0 != parentBond[v] }.sorted { a, b in
        closureFirstKey(v, a) < closureFirstKey(v, b)
      }
      stack.append((v, bonds, 0))
    }
    enter(start)
    while !stack.isEmpty {
      let top = stack.count - 1
      let v = stack[top].atom
      guard stack[top].next < stack[top].bonds.count else {
        onStack[v] = false
        stack.removeLast()
        continue
      }
      let b = stack[top].bonds[stack[top].next]
      stack[top].next += 1
      let w = mol.bonds[b].other(v)
      if onStack[w] {
        if !isClosure.contains(b) {
          isClosure.insert(b)
          closures[w].append(b)
          closures[v].append(b)
        }
      } else if !visited[w] {
        parentBond[w] = b
        children[v].append(b)
        enter(w)
      }
    }
  }

  /// Ring closures (to atoms on the walk's stack) come first, then chain bonds, then ring bonds.
  func closureFirstKey(_ v: Int, _ b: Int) -> (Int, Int, Int, Int) {
    let w = mol.bonds[b].other(v)
    if onStack[w] { return (0, 32 - Int(order(b).rawValue), ranks[w], 0) }
    let k = key(v, b)
    return (1 + k.0, k.1, k.2, 0)
  }

  /// A component's SMILES, its bond count, and the bonds (numbered in order of appearance) to
  /// declare of unknown configuration in a CXSMILES `ctu` field.
  struct Output {
    var text: String
    var bondCount: Int
    var unknownConfiguration: [Int]
  }

  func write(_ component: [Int]) -> Output {
    let start = component.min { ranks[$0] < ranks[$1] }!
    findClosures(start)
    // Children in output order: branches by key, the last one continues the chain.
    for v in component {
      let sorted = children[v].sorted { key(v, $0) < key(v, $1) }
      children[v] = sorted
    }
    planEmission(start)
    assignDoubleBondDirections()
    emit(start)
    return Output(text: String(decoding: out, as: UTF8.self), bondCount: bondsWritten,
                  unknownConfiguration: bondDirection.isEmpty ? [] : unknownConfiguration(component))
  }

  /// Double bonds without a configuration that the marks written for neighbouring stereo double
  /// bonds would appear to set: both ends carry a marked single bond (`C=C/C=C/C=C` where only
  /// the outer bonds are set). Plain SMILES cannot say otherwise, so these are listed for a
  /// CXSMILES `ctu` field. Bonds that cannot be stereo (in a ring of fewer than 8 atoms, or
  /// with two equivalent substituents on one end) are not listed: readers ignore marks there.
  func unknownConfiguration(_ component: [Int]) -> [Int] {
    let stereo = Set(mol.doubleBondStereo.map(\.bond))
    var symmetry: [Int]?
    var found: [Int] = []
    for v in component {
      for d in mol.adjacency[v] where mol.bonds[d].a == v && mol.bonds[d].order == .double && !stereo.contains(d) {
        let bond = mol.bonds[d]
        let marked = [bond.a, bond.b].allSatisfy { end in
          mol.adjacency[end].contains { $0 != d && bondDirection[$0] != nil }
        }
        guard marked else { continue }
        if mol.inSmallRing(d) { continue }
        if symmetry == nil { symmetry = CanonicalRanking(isomeric: false, isotopes: true).refinedRanks(mol, atoms: component) }
        let capable = [bond.a, bond.b].allSatisfy { end in
          let subs = mol.neighbors(end).filter { $0 != bond.other(end) }
          // One substituent (beside an H or a lone pair), or two that differ.
          return subs.count == 1 || subs.count == 2 && symmetry![subs[0]] != symmetry![subs[1]]
        }
        if capable, let index = outputIndex[d] { found.append(index) }
      }
    }
    return found.sorted()
  }

  /// Records the output order of atoms and of each bond's ends, before writing text.
  func planEmission(_ start: Int) {
    var stack = [start]
    while let v = stack.popLast() {
      emitPosition[v] = emitted.count
      emitted.append(v)
      for c in children[v].reversed() { stack.append(mol.bonds[c].other(v)) }
    }
  }

  /// Ring-closure bonds at `v` in the order their digits are written.
  func orderedClosures(_ v: Int) -> [Int] {
    if closures[v].count < 2 { return closures[v] }
    return closures[v].sorted { a, b in
      let wa = mol.bonds[a].other(v), wb = mol.bonds[b].other(v)
      let ca = emitPosition[wa] < emitPosition[v], cb = emitPosition[wb] < emitPosition[v]
      if ca != cb { return ca }  // closing digits (partner already written) first
      return emitPosition[wa] < emitPosition[wb]
    }
  }

  /// The neighbours of `v` in the order the output mentions them (for @/@@): the atom it is
  /// written after, then an implicit H (or lone pair), ring closures, branches and the chain.
  func outputNeighbourOrder(_ v: Int) -> [Int] {
    var order: [Int] = []
    if parentBond[v] >= 0 { order.append(mol.bonds[parentBond[v]].other(v)) }
    if mol.atoms[v].stereoOrder.contains(-1) { order.append(-1) }
    for b in orderedClosures(v) { order.append(mol.bonds[b].other(v)) }
    for c in children[v] { order.append(mol.bonds[c].other(v)) }
    if mol.atoms[v].stereoOrder.contains(Stereo.lonePair) { order.append(Stereo.lonePair) }
    return order
  }

  /// Writes the walk from `start`: bond, atom and ring digits of each atom, then its branches in
  /// parentheses and its last child unbracketed. Iterative: pending work is kept on a stack.
  func emit(_ start: Int) {
    enum Step {
      case atom(Int, branch: Bool)
      case close
    }
    var steps: [Step] = [.atom(start, branch: false)]
    while let step = steps.popLast() {
      guard case let .atom(v, branch) = step else {
        out.append(UInt8(ascii: ")"))
        continue
      }
      if branch { out.append(UInt8(ascii: "(")) }
      emitAtom(v)
      let kids = children[v]
      guard let last = kids.last else { continue }
      steps.append(.atom(mol.bonds[last].other(v), branch: false))
      for c in kids.dropLast().reversed() {
        steps.append(.close)
        steps.append(.atom(mol.bonds[c].other(v), branch: true))
      }
    }
  }

  /// The bond from the parent, the atom and its ring-closure digits.
  func emitAtom(_ v: Int) {
    if parentBond[v] >= 0 {
      let b = parentBond[v]
      writeBond(b, from: mol.bonds[b].other(v))
    }
    writeAtom(v)
    var closedHere: [Int] = []
    for b in orderedClosures(v) {
      if let number = ringNumber[b] {
        writeBond(b, from: v)
        writeRingNumber(number)
        closedHere.append(number)
        ringNumber[b] = nil
      } else {
        var n = 1
        while (n < openNumbers.count && openNumbers[n]) || closedHere.contains(n) { n += 1 }
        while openNumbers.count <= n { openNumbers.append(false) }
        openNumbers[n] = true
        ringNumber[b] = n
        writeRingNumber(n)
      }
    }
    for n in closedHere { openNumbers[n] = false }
  }

  func writeRingNumber(_ n: Int) {
    if n < 10 {
      out.append(UInt8(0x30 + n))
    } else if n < 100 {
      out.append(UInt8(ascii: "%"))
      out.append(contentsOf: Array(String(n).utf8))
    } else {
      out.append(contentsOf: Array("%(\(n))".utf8))
    }
  }

  func writeBond(_ b: Int, from: Int) {
    outputIndex[b] = bondsWritten
    bondsWritten += 1
    let bond = mol.bonds[b]
    let to = bond.other(from)
    // An unwritten bond reads as aromatic between two lower-case atoms only: `*` has no
    // lower case, so its aromatic bonds are written `:`.
    let aromaticEnds = !kekule && mol.atoms[from].aromatic && mol.atoms[to].aromatic
      && mol.atoms[from].element != 0 && mol.atoms[to].element != 0
    switch bond.order {
    case .single:
      if let d = bondDirection[b] {
        // Directions are stored relative to the bond's first-written end.
        // Directions are kept relative to the order the output writes the bond in.
        out.append(d > 0 ? UInt8(ascii: "/") : UInt8(ascii: "\\"))
      } else if aromaticEnds {
        out.append(UInt8(ascii: "-"))
      }
    case .double: if !(aromaticEnds && bond.order == .aromatic) { out.append(UInt8(ascii: "=")) }
    case .triple: out.append(UInt8(ascii: "#"))
    case .quadruple: out.append(UInt8(ascii: "$"))
    case .dative:
      out.append(contentsOf: Array((bond.a == from ? "->" : "<-").utf8))
    case .aromatic:
      if let d = bondDirection[b] {
        // Directions are kept relative to the order the output writes the bond in.
        out.append(d > 0 ? UInt8(ascii: "/") : UInt8(ascii: "\\"))
      } else if !kekule && !aromaticEnds {
        out.append(UInt8(ascii: ":"))
      }
    }
  }

  /// Elements that may be written without brackets, by atomic number.
  static let organicSubset: [Bool] = (0..<PeriodicTable.elements.count).map { [0, 5, 6, 7, 8, 9, 15, 16, 17, 35, 53].contains($0) }

  /// Element symbols as bytes, as written (`Cl`) and aromatic (`cl`), by atomic number.
  static let symbolBytes: [[UInt8]] = PeriodicTable.elements.map { $0.number == 0 ? [UInt8(ascii: "*")] : Array($0.symbol.utf8) }
  static let aromaticSymbolBytes: [[UInt8]] = PeriodicTable.elements.map {
    $0.number == 0 ? [UInt8(ascii: "*")] : Array($0.symbol.lowercased().utf8)
  }

  func writeNumber(_ n: Int) {
    if n >= 10 { writeNumber(n / 10) }
    out.append(UInt8(0x30 + n % 10))
  }

  func writeAtom(_ v: Int) {
    let a = mol.atoms[v]
    let lower = a.aromatic && !kekule
    let symbol = lower ? Self.aromaticSymbolBytes[a.element] : Self.symbolBytes[a.element]
    var chirality = a.chirality
    if chirality != .none {
      let odd = Permutation.isOdd(from: a.stereoOrder, to: outputNeighbourOrder(v))
      if odd { chirality = chirality == .clockwise ? .counterClockwise : .clockwise }
    }
    var planar = 0
    if a.squarePlanar != 0 {
      let pairs = SquarePlanar.transPairs(a.stereoOrder, a.squarePlanar)
      planar = SquarePlanar.classFor(pairs: pairs, order: outputNeighbourOrder(v))
    }
    let needsBracket =
      !Self.organicSubset[a.element] || a.charge != 0 || a.isotope != 0 || chirality != .none || planar != 0
      || a.atomClass != 0 || a.radicals != 0 || Reader.implicitHydrogens(mol, v, aromatic: lower) != a.hydrogens
      || mol.adjacency[v].contains { Metals.isMetal(mol.atoms[mol.bonds[$0].other(v)].element) }
    if !needsBracket {
      out.append(contentsOf: symbol)
      return
    }
    out.append(UInt8(ascii: "["))
    if a.isotope != 0 { writeNumber(a.isotope) }
    out.append(contentsOf: symbol)
    if chirality == .counterClockwise {
      out.append(UInt8(ascii: "@"))
    } else if chirality == .clockwise {
      out.append(UInt8(ascii: "@"))
      out.append(UInt8(ascii: "@"))
    }
    if planar != 0 {
      out.append(contentsOf: [UInt8(ascii: "@"), UInt8(ascii: "S"), UInt8(ascii: "P")])
      writeNumber(planar)
    }
    if a.hydrogens >= 1 {
      out.append(UInt8(ascii: "H"))
      if a.hydrogens > 1 { writeNumber(a.hydrogens) }
    }
    if a.charge != 0 {
      out.append(a.charge > 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
      if abs(a.charge) > 1 { writeNumber(abs(a.charge)) }
    }
    if a.atomClass != 0 {
      out.append(UInt8(ascii: ":"))
      writeNumber(a.atomClass)
    }
    out.append(UInt8(ascii: "]"))
  }

  /// Chooses `/` `\` for every stereo double bond: on each end the substituent bond written
  /// first gets a direction; an end already fixed by a neighbouring double bond keeps its.
  func assignDoubleBondDirections() {
    let stereo = mol.doubleBondStereo.filter { ranks[mol.bonds[$0.bond].a] >= 0 }
      .sorted { min(emitPosition[mol.bonds[$0.bond].a], emitPosition[mol.bonds[$0.bond].b])
        < min(emitPosition[mol.bonds[$1.bond].a], emitPosition[mol.bonds[$1.bond].b]) }
    for s in stereo {
      let bond = mol.bonds[s.bond]
      let (x, y) = emitPosition[bond.a] < emitPosition[bond.b] ? (bond.a, bond.b) : (bond.b, bond.a)
      let refX = x == bond.a ? s.reference.0 : s.reference.1
      let refY = x == bond.a ? s.reference.1 : s.reference.0
      func substituentBond(_ end: Int) -> Int? {
        // Only bonds that can carry `/` `\` (single or aromatic, as the reader takes them; a
        // dative bond is written `->` and would lose the mark).
        let candidates = mol.adjacency[end].filter {
          $0 != s.bond && (mol.bonds[$0].order == .single || mol.bonds[$0].order == .aromatic)
        }
        if let fixed = candidates.first(where: { bondDirection[$0] != nil }) { return fixed }
        // A bond whose direction is already implied by a mark at its other end keeps that sense.
        for c in candidates where bondDirection[c] == nil {
          if let d = impliedDirection(c, awayFrom: end) {
            bondDirection[c] = d
            return c
          }
        }
        // The substituent written first; a tree bond before a ring closure; then by rank.
        return candidates.min { p, q in
          let kp = (emitOrder(p), isClosure.contains(p) ? 1 : 0, ranks[mol.bonds[p].other(end)])
          let kq = (emitOrder(q), isClosure.contains(q) ? 1 : 0, ranks[mol.bonds[q].other(end)])
          return kp < kq
        }
      }
      guard let bx = substituentBond(x), let by = substituentBond(y) else { continue }
      let nx = mol.bonds[bx].other(x), ny = mol.bonds[by].other(y)
      var trans = s.trans
      if nx != refX { trans.toggle() }
      if ny != refY { trans.toggle() }
      // up(n wrt end) from a direction d stored relative to the first-written end of the bond.
      func up(_ b: Int, _ end: Int, _ d: Int8) -> Bool { firstWrittenEnd(b) == end ? d > 0 : d < 0 }
      func direction(_ b: Int, _ end: Int, up wanted: Bool) -> Int8 {
        firstWrittenEnd(b) == end ? (wanted ? 1 : -1) : (wanted ? -1 : 1)
      }
      if let dy = bondDirection[by], bondDirection[bx] == nil {
        let upY = up(by, y, dy)
        bondDirection[bx] = direction(bx, x, up: trans ? !upY : upY)
      } else {
        if bondDirection[bx] == nil {
          // The first mark reads '/' in the output.
          bondDirection[bx] = 1
        }
        let upX = up(bx, x, bondDirection[bx]!)
        if bondDirection[by] == nil { bondDirection[by] = direction(by, y, up: trans ? !upX : upX) }
      }
    }
  }

  /// The direction single bond `b` must take because its far end (not `end`) belongs to a stereo
  /// double bond whose substituents at that atom are already marked: two marks on one atom of a
  /// double bond must put their substituents on opposite sides, or the SMILES contradicts itself.
  func impliedDirection(_ b: Int, awayFrom end: Int) -> Int8? {
    let n = mol.bonds[b].other(end)
    guard mol.adjacency[n].contains(where: { d in mol.bonds[d].order == .double && stereoBonds.contains(d) }) else { return nil }
    for other in mol.adjacency[n] where other != b {
      guard let d = bondDirection[other], mol.bonds[other].order != .double else { continue }
      let upOther = firstWrittenEnd(other) == n ? d > 0 : d < 0
      return firstWrittenEnd(b) == n ? (upOther ? -1 : 1) : (upOther ? 1 : -1)
    }
    return nil
  }

  /// Position in the output where a bond is written (for choosing which substituent to mark).
  func emitOrder(_ b: Int) -> Int {
    let bond = mol.bonds[b]
    return max(emitPosition[bond.a], emitPosition[bond.b])
  }

  /// The end of bond `b` that the output writes first (ring closures: the opening atom).
  func firstWrittenEnd(_ b: Int) -> Int {
    let bond = mol.bonds[b]
    if isClosure.contains(b) {
      // The closing atom writes the bond symbol, as if the opening atom followed it.
      return emitPosition[bond.a] > emitPosition[bond.b] ? bond.a : bond.b
    }
    return emitPosition[bond.a] < emitPosition[bond.b] ? bond.a : bond.b
  }
}

/// What a SMILES reader would conclude about an atom written without brackets.
enum Reader {
  static func implicitHydrogens(_ mol: Molecule, _ i: Int, aromatic: Bool) -> Int {
    let a = mol.atoms[i]
    guard let allowed = Valence.allowed(element: a.element, charge: 0), a.element != 0 else { return 0 }
    var ev2 = 0
    for b in mol.adjacency[i] {
      let bond = mol.bonds[b]
      let other = bond.other(i)
      // In aromatic output an unwritten bond between aromatic atoms reads as aromatic.
      if aromatic && bond.order == .aromatic && mol.atoms[other].aromatic {
        ev2 += 3
      } else if bond.order == .dative {
        // As the reader counts it: for the acceptor only (`C<-N` is CH3 and N H3).
        ev2 += bond.b == i ? 2 : 0
      } else {
        ev2 += bond.order.halfValence
      }
    }
    if aromatic {
      let total = Valence.roundAromatic(ev2, allowed: allowed)
      if let dv = allowed.first, total <= dv { return (dv - total) / 2 }
      return 0
    }
    guard let target = allowed.first(where: { $0 >= ev2 }) else { return 0 }
    return (target - ev2) / 2
  }
}

/// Per-bond values of one written component, in an array (bonds are dense indices).
struct BondTable<Value> {
  private var values: [Value?]
  private(set) var count = 0
  init(_ bonds: Int) { values = [Value?](repeating: nil, count: bonds) }
  var isEmpty: Bool { count == 0 }
  subscript(_ bond: Int) -> Value? {
    get { values[bond] }
    set {
      if values[bond] == nil, newValue != nil { count += 1 } else if values[bond] != nil, newValue == nil { count -= 1 }
      values[bond] = newValue
    }
  }
}

/// A set of bonds as flags.
struct BondFlags {
  private var flags: [Bool]
  init(_ bonds: Int) { flags = [Bool](repeating: false, count: bonds) }
  func contains(_ bond: Int) -> Bool { flags[bond] }
  mutating func insert(_ bond: Int) { flags[bond] = true }
}
