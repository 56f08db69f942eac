/// Reads SMILES (OpenSMILES grammar, with RDKit's `%(nnn)` ring numbers) into a ``Molecule``.
///
/// The parser builds the graph as written: aromatic flags from lower-case symbols, bond orders
/// (an unwritten bond between two aromatic atoms is aromatic, otherwise single), hydrogens
/// written in brackets, chirality with its neighbour order, and `/` `\` directions. Implicit
/// hydrogens, valence checks, kekulization and aromaticity are separate steps (``Sanitizer``).
/// Reading stops at the first blank, as in SMILES files ("SMILES name"), except that a CXSMILES
/// extension block right after it (`SMILES |ctu:3|`) is read: its `ctu` field (double bonds of
/// unknown configuration, by bond index in order of appearance); other fields are skipped.
public struct SmilesParser {
  let s: [UInt8]
  /// The CXSMILES block between the bars, if any.
  let extensions: [UInt8]?
  var i = 0
  var mol = Molecule()

  struct RingOpen {
    var atom: Int
    var order: BondOrder?
    var direction: Int8
    var slot: Int
    var column: Int
  }

  init(_ text: [UInt8]) {
    let (end, cx) = Self.extent(text)
    s = Array(text[0..<end])
    extensions = cx.map { Array(text[$0]) }
  }

  /// Where the SMILES of a record ends, and the range of its CXSMILES block (between the bars)
  /// when one follows after one blank.
  static func extent<C: RandomAccessCollection<UInt8>>(_ text: C) -> (end: Int, extensions: Range<Int>?) where C.Index == Int {
    let start = text.startIndex
    var end = start
    while end < text.endIndex, text[end] != 0x20, text[end] != 0x09, text[end] != 0x0A, text[end] != 0x0D { end += 1 }
    guard end + 1 < text.endIndex, text[end] == 0x20, text[end + 1] == UInt8(ascii: "|") else { return (end - start, nil) }
    var close = end + 2
    while close < text.endIndex, text[close] != UInt8(ascii: "|"), text[close] != 0x0A { close += 1 }
    guard close < text.endIndex, text[close] == UInt8(ascii: "|") else { return (end - start, nil) }
    return (end - start, (end + 2 - start)..<(close - start))
  }

  /// Length of a record's structure text: the SMILES and its CXSMILES block if there is one
  /// (`C/C=C/C=C/C=C/C |ctu:3| name` gives the part before ` name`).
  public static func recordLength<C: RandomAccessCollection<UInt8>>(_ text: C) -> Int where C.Index == Int {
    let (end, cx) = extent(text)
    return cx.map { $0.upperBound + 1 } ?? end
  }

  /// ``recordLength(_:)`` for an array, compiled for it here (a generic call from another module
  /// runs unspecialized, byte by byte through the protocol).
  public static func recordLength(_ text: [UInt8]) -> Int {
    let (end, cx) = extent(text)
    return cx.map { $0.upperBound + 1 } ?? end
  }

  /// Bond indices of the `ctu` field of a CXSMILES block. Fields are separated by commas, and
  /// so are the numbers of a field's list; parenthesised and `$`-quoted parts are skipped.
  static func unknownConfigurationBonds(_ cx: [UInt8]) throws(SmilesError) -> [Int] {
    var out: [Int] = []
    var field: [UInt8] = []
    var token: [UInt8] = []
    var k = 0
    func finish(_ token: [UInt8]) throws(SmilesError) {
      if let colon = token.firstIndex(of: UInt8(ascii: ":")) {
        field = Array(token[..<colon])
        let rest = token[(colon + 1)...]
        if field == Array("ctu".utf8) && !rest.isEmpty { out.append(try number(rest)) }
      } else if field == Array("ctu".utf8) && !token.isEmpty {
        out.append(try number(token[...]))
      }
    }
    func number(_ t: ArraySlice<UInt8>) throws(SmilesError) -> Int {
      guard !t.isEmpty, t.count < 10, t.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        throw SmilesError(.syntax("CXSMILES ctu field: '\(String(decoding: t, as: UTF8.self))' is not a bond index"))
      }
      return t.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
    while k < cx.count {
      let c = cx[k]
      if c == UInt8(ascii: "(") || c == UInt8(ascii: "$") {
        let close = c == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "$")
        k += 1
        while k < cx.count && cx[k] != close { k += 1 }
        k += 1
        continue
      }
      if c == UInt8(ascii: ",") {
        try finish(token)
        token.removeAll()
      } else {
        token.append(c)
      }
      k += 1
    }
    try finish(token)
    return out
  }

  /// Parses `smiles` into a graph (not yet sanitized).
  public static func parseGraph(_ smiles: String, limits: MoleculeLimits = .standard) throws(SmilesError) -> Molecule {
    try parseGraph(bytes: Array(smiles.utf8), limits: limits)
  }

  /// Records over `limits` (bytes of the SMILES and its CXSMILES block, atoms) are refused with
  /// ``SmilesError/Kind/tooLarge(_:)`` before any graph is built.
  public static func parseGraph(bytes: [UInt8], limits: MoleculeLimits = .standard) throws(SmilesError) -> Molecule {
    let length = recordLength(bytes)
    if let e = limits.checkBytes(length) { throw SmilesError(.tooLarge(e)) }
    var p = SmilesParser(bytes)
    if let e = limits.checkAtoms(countAtoms(p.s)) { throw SmilesError(.tooLarge(e)) }
    return try p.run()
  }

  /// The number of atoms a SMILES string writes (bracket atoms, organic-subset symbols, `*`),
  /// counted without building anything.
  static func countAtoms(_ s: [UInt8]) -> Int {
    var n = 0
    var i = 0
    while i < s.count {
      let c = s[i]
      if c == UInt8(ascii: "[") {
        n += 1
        while i < s.count && s[i] != UInt8(ascii: "]") { i += 1 }
      } else if (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
        || c == UInt8(ascii: "*")
      {
        n += 1
        if i + 1 < s.count && ((c == UInt8(ascii: "C") && s[i + 1] == UInt8(ascii: "l")) || (c == UInt8(ascii: "B") && s[i + 1] == UInt8(ascii: "r"))) {
          i += 1
        }
      }
      i += 1
    }
    return n
  }

  func err(_ kind: SmilesError.Kind, _ at: Int? = nil) -> SmilesError { SmilesError(kind, column: (at ?? i) + 1) }

  static let organic: [UInt8: Int] = [
    UInt8(ascii: "B"): 5, UInt8(ascii: "C"): 6, UInt8(ascii: "N"): 7, UInt8(ascii: "O"): 8, UInt8(ascii: "P"): 15,
    UInt8(ascii: "S"): 16, UInt8(ascii: "F"): 9, UInt8(ascii: "I"): 53,
  ]
  static let aromaticOrganic: [UInt8: Int] = [
    UInt8(ascii: "b"): 5, UInt8(ascii: "c"): 6, UInt8(ascii: "n"): 7, UInt8(ascii: "o"): 8, UInt8(ascii: "p"): 15,
    UInt8(ascii: "s"): 16,
  ]

  mutating func run() throws(SmilesError) -> Molecule {
    if s.isEmpty { throw SmilesError(.empty) }
    var prev: Int? = nil
    var pending: (order: BondOrder?, direction: Int8, column: Int)? = nil
    var branches: [(atom: Int, column: Int)] = []
    var justOpenedBranch = false
    var rings: [Int: RingOpen] = [:]
    var sawDot = false

    func connect(_ atom: Int, _ mol: inout Molecule) {
      if let p = prev {
        let order = pending?.order ?? (mol.atoms[p].aromatic && mol.atoms[atom].aromatic ? .aromatic : .single)
        if order == .dative {
          // Stored donor -> acceptor.
          if (pending?.direction ?? 1) > 0 { mol.addBond(p, atom, .dative) } else { mol.addBond(atom, p, .dative) }
        } else {
          mol.addBond(p, atom, order, direction: pending?.direction ?? 0)
        }
        mol.atoms[p].stereoOrder.append(atom)
        mol.atoms[atom].stereoOrder.append(p)
      }
    }

    while i < s.count {
      let c = s[i]
      switch c {
      case UInt8(ascii: "("):
        guard prev != nil, !justOpenedBranch else { throw err(.syntax("branch without a preceding atom")) }
        if pending != nil { throw err(.syntax("bond before '('")) }
        branches.append((prev!, i))
        justOpenedBranch = true
        i += 1
        continue
      case UInt8(ascii: ")"):
        guard let top = branches.popLast() else { throw err(.unmatchedCloseParenthesis) }
        if pending != nil { throw err(.syntax("bond before ')'")) }
        if justOpenedBranch { throw err(.syntax("empty branch '()'")) }
        prev = top.atom
        i += 1
        continue
      case UInt8(ascii: "."):
        if prev == nil || pending != nil || justOpenedBranch { throw err(.syntax("misplaced '.'")) }
        prev = nil
        sawDot = true
        i += 1
        continue
      case UInt8(ascii: "<") where i + 1 < s.count && s[i + 1] == UInt8(ascii: "-"),
        UInt8(ascii: "-") where i + 1 < s.count && s[i + 1] == UInt8(ascii: ">"):
        // Dative bonds (RDKit's extension): "->" from the previous atom, "<-" towards it.
        if prev == nil { throw err(.syntax("bond without a preceding atom")) }
        if pending != nil { throw err(.syntax("two bond symbols in a row")) }
        pending = (.dative, c == UInt8(ascii: "-") ? 1 : -1, i)
        justOpenedBranch = false
        i += 2
        continue
      case UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: ":"),
        UInt8(ascii: "/"), UInt8(ascii: "\\"):
        if prev == nil { throw err(.syntax("bond without a preceding atom")) }
        if pending != nil { throw err(.syntax("two bond symbols in a row")) }
        var order: BondOrder? = nil
        var direction: Int8 = 0
        switch c {
        case UInt8(ascii: "-"): order = .single
        case UInt8(ascii: "="): order = .double
        case UInt8(ascii: "#"): order = .triple
        case UInt8(ascii: "$"): order = .quadruple
        case UInt8(ascii: ":"): order = .aromatic
        case UInt8(ascii: "/"): direction = 1
        default: direction = -1
        }
        pending = (order, direction, i)
        justOpenedBranch = false
        i += 1
        continue
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "%"):
        guard let atom = prev, !justOpenedBranch else { throw err(.syntax("ring-closure number without an atom")) }
        let column = i
        let number = try ringNumber()
        if var open = rings[number] {
          if open.atom == atom { throw err(.ringBondToSelf(ring: number), column) }
          if mol.bond(between: open.atom, atom) != nil { throw err(.duplicateBond(ring: number), column) }
          let order = open.order ?? pending?.order
            ?? (mol.atoms[open.atom].aromatic && mol.atoms[atom].aromatic ? .aromatic : .single)
          if order == .dative {
            // "->" at the opening digit points to the closing atom; at the closing digit, to the opening atom.
            let fromOpening = open.order == .dative ? open.direction > 0 : (pending?.direction ?? 1) < 0
            if fromOpening { mol.addBond(open.atom, atom, .dative) } else { mol.addBond(atom, open.atom, .dative) }
          } else if open.direction != 0 {
            mol.addBond(open.atom, atom, order, direction: open.direction)
          } else {
            mol.addBond(atom, open.atom, order, direction: pending?.direction ?? 0)
          }
          mol.atoms[open.atom].stereoOrder[open.slot] = atom
          mol.atoms[atom].stereoOrder.append(open.atom)
          open.atom = -1
          rings[number] = nil
        } else {
          rings[number] = RingOpen(atom: atom, order: pending?.order, direction: pending?.direction ?? 0,
                                   slot: mol.atoms[atom].stereoOrder.count, column: column)
          mol.atoms[atom].stereoOrder.append(-2)
        }
        pending = nil
        continue
      case UInt8(ascii: "["):
        let atom = try bracketAtom()
        let index = mol.addAtom(atom)
        connect(index, &mol)
        mol.atoms[index].stereoHSlot = mol.atoms[index].stereoOrder.count
        if (mol.atoms[index].chirality != .none || mol.atoms[index].squarePlanar != 0) && mol.atoms[index].hydrogens == 1 {
          mol.atoms[index].stereoOrder.append(-1)
        }
        prev = index
        pending = nil
        justOpenedBranch = false
        sawDot = false
        continue
      default:
        var element: Int
        var aromatic = false
        var width = 1
        if c == UInt8(ascii: "C") && i + 1 < s.count && s[i + 1] == UInt8(ascii: "l") {
          element = 17
          width = 2
        } else if c == UInt8(ascii: "B") && i + 1 < s.count && s[i + 1] == UInt8(ascii: "r") {
          element = 35
          width = 2
        } else if let z = Self.organic[c] {
          element = z
        } else if let z = Self.aromaticOrganic[c] {
          element = z
          aromatic = true
        } else if c == UInt8(ascii: "*") {
          element = 0
        } else if (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) {
          throw err(.unknownElement(String(decoding: [c], as: UTF8.self) + " (outside brackets only B C N O P S F Cl Br I and b c n o p s are allowed)"))
        } else {
          throw err(.syntax("unexpected character '\(String(decoding: [c], as: UTF8.self))'"))
        }
        var atom = Atom(element: element)
        atom.aromatic = aromatic
        let index = mol.addAtom(atom)
        connect(index, &mol)
        prev = index
        pending = nil
        justOpenedBranch = false
        sawDot = false
        i += width
        continue
      }
    }
    if pending != nil { throw err(.syntax("bond at the end"), s.count - 1) }
    if sawDot { throw err(.syntax("'.' at the end"), s.count - 1) }
    if let open = branches.last { throw err(.unmatchedOpenParenthesis, open.column) }
    if !rings.isEmpty { throw SmilesError(.unclosedRing(rings.keys.sorted()), column: rings.values.map(\.column).min()! + 1) }
    if let extensions {
      for b in try Self.unknownConfigurationBonds(extensions) {
        guard b < mol.bonds.count, mol.bonds[b].order == .double else {
          throw SmilesError(.syntax("CXSMILES ctu field: bond \(b) is not a double bond"))
        }
        mol.unknownConfiguration.insert(b)
      }
    }
    return mol
  }

  mutating func ringNumber() throws(SmilesError) -> Int {
    if s[i] != UInt8(ascii: "%") {
      let n = Int(s[i] - 0x30)
      i += 1
      return n
    }
    let start = i
    i += 1
    if i < s.count && s[i] == UInt8(ascii: "(") {
      i += 1
      var n = 0
      var digits = 0
      while i < s.count, s[i] >= 0x30, s[i] <= 0x39, digits < 9 {
        n = n * 10 + Int(s[i] - 0x30)
        digits += 1
        i += 1
      }
      guard digits > 0, i < s.count, s[i] == UInt8(ascii: ")") else { throw err(.syntax("bad ring number %(...)"), start) }
      i += 1
      return n
    }
    guard i + 1 < s.count, (0x30...0x39).contains(s[i]), (0x30...0x39).contains(s[i + 1]) else {
      throw err(.syntax("'%' needs two digits"), start)
    }
    let n = Int(s[i] - 0x30) * 10 + Int(s[i + 1] - 0x30)
    i += 2
    // %01..%09 would duplicate 1..9; RDKit rejects them, and so do we.
    if n < 10 { throw err(.syntax("ring number %0\(n) is written \(n)"), start) }
    return n
  }

  static let aromaticBracket: [String: Int] = ["b": 5, "c": 6, "n": 7, "o": 8, "p": 15, "s": 16, "se": 34, "as": 33, "si": 14, "te": 52]

  mutating func bracketAtom() throws(SmilesError) -> Atom {
    let open = i
    i += 1
    func digits() -> Int? {
      var n = 0
      var any = false
      while i < s.count, s[i] >= 0x30, s[i] <= 0x39, n < 100_000_000 {
        n = n * 10 + Int(s[i] - 0x30)
        any = true
        i += 1
      }
      return any ? n : nil
    }
    let isotope = digits() ?? 0
    guard i < s.count else { throw err(.syntax("unterminated '['"), open) }
    var element: Int
    var aromatic = false
    let c = s[i]
    func letter(_ k: Int) -> UInt8? { k < s.count ? s[k] : nil }
    if c == UInt8(ascii: "*") {
      element = 0
      i += 1
    } else if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") {
      var symbol = String(decoding: [c], as: UTF8.self)
      if let l = letter(i + 1), l >= UInt8(ascii: "a"), l <= UInt8(ascii: "z"),
        let z = PeriodicTable.number(of: symbol + String(decoding: [l], as: UTF8.self))
      {
        element = z
        i += 2
      } else if let z = PeriodicTable.number(of: symbol) {
        element = z
        i += 1
      } else {
        if let l = letter(i + 1), l >= UInt8(ascii: "a"), l <= UInt8(ascii: "z") { symbol += String(decoding: [l], as: UTF8.self) }
        throw err(.unknownElement(symbol))
      }
    } else if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") {
      if let l = letter(i + 1), let z = Self.aromaticBracket[String(decoding: [c, l], as: UTF8.self)] {
        element = z
        i += 2
      } else if let z = Self.aromaticBracket[String(decoding: [c], as: UTF8.self)] {
        element = z
        i += 1
      } else {
        throw err(.unknownElement(String(decoding: [c], as: UTF8.self)))
      }
      aromatic = true
    } else {
      throw err(.syntax("expected an element symbol after '['"))
    }
    var atom = Atom(element: element)
    atom.isotope = isotope
    atom.aromatic = aromatic
    atom.bracket = true
    // Chirality.
    if i < s.count && s[i] == UInt8(ascii: "@") {
      i += 1
      if i < s.count && s[i] == UInt8(ascii: "@") {
        atom.chirality = .clockwise
        i += 1
      } else if i + 1 < s.count, case let tag = String(decoding: s[i..<(i + 2)], as: UTF8.self),
        ["TH", "AL", "SP", "TB", "OH"].contains(tag)
      {
        i += 2
        guard let k = digits() else { throw err(.syntax("chirality class \(tag) needs a number")) }
        let limits = ["TH": 2, "AL": 2, "SP": 3, "TB": 20, "OH": 30]
        guard k >= 1 && k <= limits[tag]! else { throw err(.syntax("@\(tag)\(k) is out of range")) }
        // @TH1/@TH2 and @AL1/@AL2 are @ and @@; square-planar classes are kept;
        // trigonal-bipyramidal and octahedral ones are read and not kept.
        if tag == "TH" || tag == "AL" { atom.chirality = k == 1 ? .counterClockwise : .clockwise }
        if tag == "SP" { atom.squarePlanar = k }
      } else {
        atom.chirality = .counterClockwise
      }
    }
    // Hydrogens.
    if i < s.count && s[i] == UInt8(ascii: "H") {
      i += 1
      atom.hydrogens = 1
      if i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
        atom.hydrogens = Int(s[i] - 0x30)
        i += 1
      }
    }
    // Charge.
    if i < s.count && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) {
      let sign = s[i]
      let unit = sign == UInt8(ascii: "+") ? 1 : -1
      i += 1
      if i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
        var n = Int(s[i] - 0x30)
        i += 1
        if i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
          n = n * 10 + Int(s[i] - 0x30)
          i += 1
        }
        atom.charge = unit * n
      } else {
        var n = 1
        while i < s.count && s[i] == sign {
          n += 1
          i += 1
        }
        atom.charge = unit * n
      }
      if abs(atom.charge) > 15 { throw err(.badCharge) }
    }
    // Atom class.
    if i < s.count && s[i] == UInt8(ascii: ":") {
      i += 1
      guard let k = digits() else { throw err(.syntax("atom class ':' needs a number")) }
      atom.atomClass = k
    }
    guard i < s.count, s[i] == UInt8(ascii: "]") else {
      throw err(i < s.count ? .syntax("unexpected '\(String(decoding: [s[i]], as: UTF8.self))' in bracket atom") : .syntax("unterminated '['"))
    }
    i += 1
    return atom
  }
}
