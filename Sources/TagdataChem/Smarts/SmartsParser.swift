/// SMARTS text to ``CompiledSmarts``, RDKit's reading of the syntax (CHEMISTRY.md §10.1).
///
/// Without recursion: a first scan finds the body of every `$(...)` (a stack of open bodies,
/// at most ``maxNesting`` deep, deeper is an error naming the `$`); each body is then parsed on
/// its own by the same loop, a `$(` inside it being a reference to the body's index. Atom and
/// bond expressions have no parentheses, so their AND/OR/AND structure is built in one pass.
enum SmartsParser {
  /// How deep `$(...)` may nest (the matcher evaluates one level per call level).
  static let maxNesting = 16
  /// Largest number accepted in a primitive (`H`, `D`, isotope, ring closure `%(n)`...).
  static let maxNumber = 99_999_999

  private struct Region {
    var start: Int
    var end: Int
    var dollar: Int  // position of the `$` (0 for the whole pattern)
  }

  static func parse(_ smarts: String) throws(SmartsError) -> CompiledSmarts {
    let bytes = Array(smarts.utf8)
    var compiled = CompiledSmarts()
    // Bond query 0: the default bond, single or aromatic.
    _ = compiled.bondQueries.addSingle(SmartsLiteral(kind: BondPrimitive.singleOrAromatic, negated: false, value: 0))
    let (regions, regionAt) = try scanRegions(bytes)
    for (index, region) in regions.enumerated() {
      var level = LevelParser(bytes: bytes, end: region.end, regions: regions, regionAt: regionAt)
      try level.parse(from: region.start, dollar: region.dollar, isTop: index == 0, into: &compiled)
    }
    return compiled
  }

  /// The bodies of the pattern and of every `$(...)`, in order of their opening.
  private static func scanRegions(_ bytes: [UInt8]) throws(SmartsError) -> ([Region], [Int: Int]) {
    var regions = [Region(start: 0, end: bytes.count, dollar: 0)]
    var regionAt: [Int: Int] = [:]
    // Open bodies: region, inside a bracket atom, open branches.
    var open: [(region: Int, inBracket: Bool, branches: Int)] = [(0, false, 0)]
    var i = 0
    while i < bytes.count {
      let c = bytes[i]
      let top = open.count - 1
      if open[top].inBracket {
        if c == UInt8(ascii: "$") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "(") {
          if open.count > maxNesting {
            throw SmartsError(position: i, message: "recursive SMARTS nested deeper than \(maxNesting) levels")
          }
          regions.append(Region(start: i + 2, end: -1, dollar: i))
          regionAt[i] = regions.count - 1
          open.append((regions.count - 1, false, 0))
          i += 2
          continue
        }
        if c == UInt8(ascii: "]") { open[top].inBracket = false }
      } else if c == UInt8(ascii: "[") {
        open[top].inBracket = true
      } else if c == UInt8(ascii: "(") {
        open[top].branches += 1
      } else if c == UInt8(ascii: ")") {
        if open[top].branches > 0 {
          open[top].branches -= 1
        } else if top > 0 {
          regions[open[top].region].end = i
          open.removeLast()
        }
      }
      i += 1
    }
    if open.count > 1 {
      throw SmartsError(position: regions[open[1].region].dollar, message: "unclosed recursive SMARTS '$('")
    }
    return (regions, regionAt)
  }

  /// Elements whose upper-case symbol means the aliphatic atom only (RDKit's reading); every
  /// other upper-case symbol matches the element whatever its aromaticity.
  static let aliphaticOnly: Set<Int> = [5, 6, 7, 8, 9, 15, 16, 17, 35, 53]

  /// Elements whose symbols RDKit's SMARTS reader does not know (Mc, Ts, Og).
  static let unreadElements: Set<Int> = [115, 117, 118]

  /// Aromatic symbols of two letters accepted in brackets.
  static let aromaticTwoLetter: [String: Int] = ["se": 34, "as": 33, "te": 52, "si": 14]

  /// Parses one body (the pattern or a `$(...)` body) into a subpattern.
  private struct LevelParser {
    let bytes: [UInt8]
    let end: Int
    let regions: [Region]
    let regionAt: [Int: Int]

    init(bytes: [UInt8], end: Int, regions: [Region], regionAt: [Int: Int]) {
      self.bytes = bytes
      self.end = end
      self.regions = regions
      self.regionAt = regionAt
    }

    func fail(_ position: Int, _ message: String) -> SmartsError { SmartsError(position: position, message: message) }

    func character(_ i: Int) -> String {
      let c = bytes[i]
      return c >= 32 && c < 127 ? "'\(Character(UnicodeScalar(c)))'" : "byte 0x\(String(c, radix: 16))"
    }

    @inline(__always) func isDigit(_ i: Int) -> Bool { i < end && bytes[i] >= 48 && bytes[i] <= 57 }
    @inline(__always) func isLower(_ i: Int) -> Bool { i < end && bytes[i] >= 97 && bytes[i] <= 122 }

    /// Digits from `i`: value and the position after them; nil value when there are none.
    func number(_ i: Int) throws(SmartsError) -> (Int?, Int) {
      // RDKit's lexer: a leading 0 is the number 0 on its own (`[#08]` is `#0` then mass 8).
      if isDigit(i) && bytes[i] == UInt8(ascii: "0") { return (0, i + 1) }
      var j = i
      var v = 0
      while isDigit(j) {
        v = v * 10 + Int(bytes[j] - 48)
        if v > SmartsParser.maxNumber { throw fail(i, "number too large") }
        j += 1
      }
      return (j == i ? nil : v, j)
    }

    mutating func parse(from start: Int, dollar: Int, isTop: Bool, into c: inout CompiledSmarts) throws(SmartsError) {
      var sub = SmartsSubpattern(atomBase: c.totalAtoms, atomCount: 0)
      var prev = -1
      var pendingBond: Int32 = -1
      var pendingPos = 0
      var dotPos = 0
      var branchOpened = false  // a '(' not yet followed by an atom
      var branches: [(atom: Int, atomsAtOpen: Int, pos: Int)] = []
      var rings: [Int: (atom: Int, bond: Int32, pos: Int)] = [:]
      var bonded = Set<Int>()  // local atom pairs a << 32 | b with a < b
      var i = start

      func addBond(_ a: Int, _ b: Int, _ q: Int32, _ pos: Int, into sub: inout SmartsSubpattern) throws(SmartsError) {
        let key = min(a, b) << 32 | max(a, b)
        if !bonded.insert(key).inserted { throw fail(pos, "duplicate bond between two atoms") }
        sub.bondA.append(Int32(a))
        sub.bondB.append(Int32(b))
        sub.bondQuery.append(q)
      }

      while i < end {
        let ch = bytes[i]
        switch ch {
        case UInt8(ascii: "("):
          guard prev >= 0, !branchOpened else { throw fail(i, "branch without a preceding atom") }
          guard pendingBond < 0 else { throw fail(pendingPos, "bond followed by a branch instead of an atom") }
          branches.append((prev, sub.atomCount, i))
          branchOpened = true
          i += 1
        case UInt8(ascii: ")"):
          guard let open = branches.popLast() else { throw fail(i, "unmatched ')'") }
          guard pendingBond < 0 else { throw fail(pendingPos, "bond without a following atom") }
          guard sub.atomCount > open.atomsAtOpen else { throw fail(open.pos, "empty branch") }
          guard prev >= 0 else { throw fail(dotPos, "'.' without a following atom") }
          prev = open.atom
          i += 1
        case UInt8(ascii: "."):
          guard prev >= 0, !branchOpened else { throw fail(i, "'.' without a preceding atom") }
          guard pendingBond < 0 else { throw fail(pendingPos, "bond without a following atom") }
          prev = -1
          dotPos = i
          i += 1
        case UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "#"), UInt8(ascii: ":"), UInt8(ascii: "~"),
          UInt8(ascii: "@"), UInt8(ascii: "!"), UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "$"):
          guard prev >= 0 else { throw fail(i, "bond without a preceding atom") }
          let (q, j) = try parseBond(i, into: &c.bondQueries)
          pendingBond = Int32(q)
          pendingPos = i
          i = j
        case UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "%"):
          guard prev >= 0, !branchOpened else { throw fail(i, "ring closure without a preceding atom") }
          var n = 0
          var j = i + 1
          if ch != UInt8(ascii: "%") {
            n = Int(ch - 48)
          } else if j < end && bytes[j] == UInt8(ascii: "(") {
            let (v, k) = try number(j + 1)
            guard let v, k < end, bytes[k] == UInt8(ascii: ")") else { throw fail(i, "bad ring closure '%(n)'") }
            n = v
            j = k + 1
          } else {
            guard isDigit(j), isDigit(j + 1) else { throw fail(i, "'%' must be followed by two digits") }
            n = Int(bytes[j] - 48) * 10 + Int(bytes[j + 1] - 48)
            j += 2
          }
          if let open = rings.removeValue(forKey: n) {
            guard open.atom != prev else { throw fail(i, "ring closure \(n) bonds an atom to itself") }
            var q: Int32 = 0
            // Bonds written at both ends: RDKit takes the opening one, whatever the closing says.
            if open.bond >= 0 {
              q = open.bond
            } else if pendingBond >= 0 {
              q = pendingBond
            } else if open.bond >= 0 {
              q = open.bond
            }
            try addBond(open.atom, prev, q, i, into: &sub)
          } else {
            rings[n] = (prev, pendingBond, i)
          }
          pendingBond = -1
          i = j
        default:
          let q: Int
          if ch == UInt8(ascii: "[") {
            (q, i) = try parseBracket(i, into: &c.atomQueries)
          } else {
            (q, i) = try parseBareAtom(i, into: &c.atomQueries)
          }
          let atom = sub.atomCount
          sub.atomCount += 1
          c.atomQuery.append(Int32(q))
          if prev >= 0 { try addBond(prev, atom, pendingBond >= 0 ? pendingBond : 0, i - 1, into: &sub) }
          pendingBond = -1
          prev = atom
          branchOpened = false
        }
      }
      if pendingBond >= 0 { throw fail(pendingPos, "bond without a following atom") }
      if prev < 0 && sub.atomCount > 0 { throw fail(dotPos, "'.' without a following atom") }
      if let open = branches.last { throw fail(open.pos, "unclosed branch '('") }
      if let open = rings.values.min(by: { $0.pos < $1.pos }) { throw fail(open.pos, "unclosed ring closure") }
      if sub.atomCount == 0 {
        throw isTop ? fail(0, "empty SMARTS") : fail(dollar, "empty recursive SMARTS")
      }
      SmartsParser.plan(&sub, &c)
      c.subpatterns.append(sub)
    }

    /// An atom outside brackets: organic subset, aromatic organic subset, `*`, `a`, `A`.
    func parseBareAtom(_ i: Int, into t: inout SmartsQueryTable) throws(SmartsError) -> (Int, Int) {
      let ch = bytes[i]
      func lit(_ kind: UInt8, _ v: Int) -> SmartsLiteral { SmartsLiteral(kind: kind, negated: false, value: Int32(v)) }
      switch ch {
      case UInt8(ascii: "*"): return (t.addSingle(lit(AtomPrimitive.any, 0)), i + 1)
      case UInt8(ascii: "a"): return (t.addSingle(lit(AtomPrimitive.aromatic, 0)), i + 1)
      case UInt8(ascii: "A"): return (t.addSingle(lit(AtomPrimitive.aliphatic, 0)), i + 1)
      case UInt8(ascii: "C"):
        if i + 1 < end && bytes[i + 1] == UInt8(ascii: "l") { return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 17)), i + 2) }
        return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 6)), i + 1)
      case UInt8(ascii: "B"):
        if i + 1 < end && bytes[i + 1] == UInt8(ascii: "r") { return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 35)), i + 2) }
        return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 5)), i + 1)
      case UInt8(ascii: "N"): return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 7)), i + 1)
      case UInt8(ascii: "O"): return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 8)), i + 1)
      case UInt8(ascii: "F"): return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 9)), i + 1)
      case UInt8(ascii: "P"): return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 15)), i + 1)
      case UInt8(ascii: "S"): return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 16)), i + 1)
      case UInt8(ascii: "I"): return (t.addSingle(lit(AtomPrimitive.aliphaticElement, 53)), i + 1)
      case UInt8(ascii: "b"): return (t.addSingle(lit(AtomPrimitive.aromaticElement, 5)), i + 1)
      case UInt8(ascii: "c"): return (t.addSingle(lit(AtomPrimitive.aromaticElement, 6)), i + 1)
      case UInt8(ascii: "n"): return (t.addSingle(lit(AtomPrimitive.aromaticElement, 7)), i + 1)
      case UInt8(ascii: "o"): return (t.addSingle(lit(AtomPrimitive.aromaticElement, 8)), i + 1)
      case UInt8(ascii: "p"): return (t.addSingle(lit(AtomPrimitive.aromaticElement, 15)), i + 1)
      case UInt8(ascii: "s"): return (t.addSingle(lit(AtomPrimitive.aromaticElement, 16)), i + 1)
      case UInt8(ascii: "]"): throw fail(i, "unmatched ']'")
      default:
        throw fail(i, "unexpected \(character(i)) (an atom outside brackets must be *, a, A or one of B C N O P S F Cl Br I b c n o p s)")
      }
    }

    /// A bracket atom from its `[`: its query index and the position after its `]`.
    func parseBracket(_ open: Int, into t: inout SmartsQueryTable) throws(SmartsError) -> (Int, Int) {
      // Find the closing bracket, stepping over `$(...)` bodies.
      var close = open + 1
      while true {
        guard close < end else { throw fail(open, "unclosed '['") }
        let ch = bytes[close]
        if ch == UInt8(ascii: "]") { break }
        if ch == UInt8(ascii: "[") { throw fail(close, "'[' inside a bracket atom") }
        if ch == UInt8(ascii: "$"), let r = regionAt[close] {
          close = regions[r].end + 1
          continue
        }
        close += 1
      }
      func lit(_ kind: UInt8, _ v: Int) -> SmartsLiteral { SmartsLiteral(kind: kind, negated: false, value: Int32(v)) }
      // RDKit: a bracket holding only an optional mass, `H`, an optional charge and an optional
      // map ([H], [2H], [H+], [2H-:1]) is a hydrogen atom; otherwise `H` is a hydrogen count.
      do {
        let (mass, afterMass) = try number(open + 1)
        if afterMass < close && bytes[afterMass] == UInt8(ascii: "H") {
          var k = afterMass + 1
          var charge = 0
          var hasCharge = false
          if k < close && (bytes[k] == UInt8(ascii: "+") || bytes[k] == UInt8(ascii: "-")) {
            (charge, k) = try parseCharge(k)
            hasCharge = true
          }
          if k < close && bytes[k] == UInt8(ascii: ":") {
            let (map, after) = try number(k + 1)
            if map != nil { k = after }
          }
          if hasCharge && k != close {
            throw fail(k, "a charged hydrogen atom ([H+]) must end the bracket atom")
          }
          if k == close {
            t.literals.append(lit(AtomPrimitive.atomicNumber, 1))
            if let mass { t.literals.append(lit(AtomPrimitive.isotope, mass)) }
            if hasCharge { t.literals.append(lit(AtomPrimitive.charge, charge)) }
            t.termEnd.append(Int32(t.literals.count))
            t.groupEnd.append(Int32(t.termEnd.count))
            t.queryEnd.append(Int32(t.groupEnd.count))
            return (t.count - 1, close + 1)
          }
        }
      }
      var p = open + 1
      var expectOperand = true
      var negations = 0
      var negationPos = 0
      var operatorPos = open
      while p < close {
        let ch = bytes[p]
        if ch == UInt8(ascii: "!") {
          if negations == 0 { negationPos = p }
          negations += 1
          p += 1
          continue
        }
        if ch == UInt8(ascii: "&") || ch == UInt8(ascii: ",") || ch == UInt8(ascii: ";") {
          if negations > 0 { throw fail(negationPos, "'!' without an operand") }
          if expectOperand { throw fail(p, "operator \(character(p)) without a left operand") }
          if ch == UInt8(ascii: ",") {
            t.termEnd.append(Int32(t.literals.count))
          } else if ch == UInt8(ascii: ";") {
            t.termEnd.append(Int32(t.literals.count))
            t.groupEnd.append(Int32(t.termEnd.count))
          }
          expectOperand = true
          operatorPos = p
          p += 1
          continue
        }
        if ch == UInt8(ascii: ":") {
          if negations > 0 { throw fail(negationPos, "'!' without an operand") }
          if expectOperand { throw fail(p, "atom map without an atom expression") }
          let (map, after) = try number(p + 1)
          guard map != nil else { throw fail(p, "':' must be followed by an atom map number") }
          guard after == close else { throw fail(after, "the atom map must end the bracket atom") }
          p = close
          break
        }
        let (literal, next) = try parsePrimitive(p)
        if var literal {
          literal.negated = negations % 2 == 1
          t.literals.append(literal)
        } else if negations % 2 == 1 {
          // RDKit reads a negated chirality mark as "not any atom": nothing matches.
          t.literals.append(SmartsLiteral(kind: AtomPrimitive.any, negated: true, value: 0))
        }
        negations = 0
        expectOperand = false
        p = next
      }
      if negations > 0 { throw fail(negationPos, "'!' without an operand") }
      if expectOperand {
        throw p == open + 1 ? fail(open, "empty bracket atom") : fail(operatorPos, "operator without a right operand")
      }
      t.termEnd.append(Int32(t.literals.count))
      t.groupEnd.append(Int32(t.termEnd.count))
      t.queryEnd.append(Int32(t.groupEnd.count))
      return (t.count - 1, close + 1)
    }

    /// `+`, `++`, `+n`, `-`, `--`, `-n` from `i`.
    func parseCharge(_ i: Int) throws(SmartsError) -> (Int, Int) {
      let sign = bytes[i] == UInt8(ascii: "+") ? 1 : -1
      if i + 1 < end && bytes[i + 1] == bytes[i] { return (2 * sign, i + 2) }
      let (v, j) = try number(i + 1)
      return ((v ?? 1) * sign, j)
    }

    /// One atom primitive at `i` (inside brackets): the literal (nil for a chirality mark, which
    /// matching ignores, as RDKit's default does) and the position after it.
    func parsePrimitive(_ i: Int) throws(SmartsError) -> (SmartsLiteral?, Int) {
      let ch = bytes[i]
      func lit(_ kind: UInt8, _ v: Int) -> SmartsLiteral { SmartsLiteral(kind: kind, negated: false, value: Int32(v)) }
      func counted(_ kind: UInt8, default d: Int) throws(SmartsError) -> (SmartsLiteral?, Int) {
        let (v, j) = try number(i + 1)
        return (lit(kind, v ?? d), j)
      }
      switch ch {
      case UInt8(ascii: "*"): return (lit(AtomPrimitive.any, 0), i + 1)
      case UInt8(ascii: "0") ... UInt8(ascii: "9"):
        let (v, j) = try number(i)
        let mass = v ?? 0
        // A mass directly before an element, `#n`, `a`, `A` or `H` forms one unit with it.
        if j < end, bytes[j] == UInt8(ascii: "#") || (bytes[j] >= 65 && bytes[j] <= 90) || (bytes[j] >= 97 && bytes[j] <= 122) {
          if let (next, k) = try? parsePrimitive(j), let next {
            let units: [UInt8] = [AtomPrimitive.aliphaticElement, AtomPrimitive.aromaticElement, AtomPrimitive.atomicNumber,
                                  AtomPrimitive.aromatic, AtomPrimitive.aliphatic, AtomPrimitive.hydrogenCount]
            if units.contains(next.kind) && next.value >= 0 {
              return (SmartsLiteral(kind: AtomPrimitive.isotopeUnit + next.kind, negated: false, value: Int32(mass), extra: next.value), k)
            }
          }
        }
        return (lit(AtomPrimitive.isotope, mass), j)
      case UInt8(ascii: "#"):
        let (v, j) = try number(i + 1)
        guard let v else { throw fail(i, "'#' must be followed by an atomic number") }
        return (lit(AtomPrimitive.atomicNumber, v), j)
      case UInt8(ascii: "$"):
        guard let r = regionAt[i] else { throw fail(i, "'$' must open a recursive SMARTS '$(...)'") }
        // Digits right after the body are a label RDKit reads and ignores (`$(...)8`).
        var j = regions[r].end + 1
        while isDigit(j) { j += 1 }
        return (lit(AtomPrimitive.recursive, r), j)
      case UInt8(ascii: "+"), UInt8(ascii: "-"):
        let (v, j) = try parseCharge(i)
        return (lit(AtomPrimitive.charge, v), j)
      case UInt8(ascii: "@"):
        var j = i + 1
        if j < end && bytes[j] == UInt8(ascii: "@") { j += 1 }
        // Chirality classes (@TH1, @SP2, @OH, ...) are read and ignored like @ and @@; a class
        // number must be in the class's range.
        if j + 1 < end {
          let two = String(decoding: bytes[j ... j + 1], as: UTF8.self)
          if let largest = ["TH": 2, "AL": 2, "SP": 3, "TB": 20, "OH": 30][two] {
            let (v, k) = try number(j + 2)
            if let v, v < 1 || v > largest { throw fail(j, "chirality class \(two)\(v) out of range 1...\(largest)") }
            return (nil, k)
          }
        }
        if j < end, bytes[j] == UInt8(ascii: "?") {
          throw fail(i, "unsupported chirality specification")
        }
        return (nil, j)
      case UInt8(ascii: "A") ... UInt8(ascii: "Z"):
        if isLower(i + 1) {
          let symbol = String(decoding: bytes[i ... i + 1], as: UTF8.self)
          if let z = PeriodicTable.number(of: symbol), z > 0, !SmartsParser.unreadElements.contains(z) {
            return (lit(SmartsParser.aliphaticOnly.contains(z) ? AtomPrimitive.aliphaticElement : AtomPrimitive.atomicNumber, z), i + 2)
          }
        }
        switch ch {
        case UInt8(ascii: "H"): return try counted(AtomPrimitive.hydrogenCount, default: 1)
        case UInt8(ascii: "D"): return try counted(AtomPrimitive.degree, default: 1)
        case UInt8(ascii: "X"): return try counted(AtomPrimitive.totalDegree, default: 1)
        case UInt8(ascii: "R"): return try counted(AtomPrimitive.ringCount, default: -1)
        case UInt8(ascii: "A"): return (lit(AtomPrimitive.aliphatic, 0), i + 1)
        case UInt8(ascii: "Z"): return try counted(AtomPrimitive.aliphaticHeteroNeighbors, default: -1)
        default: break
        }
        let symbol = String(decoding: bytes[i ... i], as: UTF8.self)
        if let z = PeriodicTable.number(of: symbol), z > 0 {
          return (lit(SmartsParser.aliphaticOnly.contains(z) ? AtomPrimitive.aliphaticElement : AtomPrimitive.atomicNumber, z), i + 1)
        }
        throw fail(i, "unknown element \(character(i))")
      case UInt8(ascii: "a") ... UInt8(ascii: "z"):
        if isLower(i + 1), let z = SmartsParser.aromaticTwoLetter[String(decoding: bytes[i ... i + 1], as: UTF8.self)] {
          return (lit(AtomPrimitive.aromaticElement, z), i + 2)
        }
        switch ch {
        case UInt8(ascii: "b"): return (lit(AtomPrimitive.aromaticElement, 5), i + 1)
        case UInt8(ascii: "c"): return (lit(AtomPrimitive.aromaticElement, 6), i + 1)
        case UInt8(ascii: "n"): return (lit(AtomPrimitive.aromaticElement, 7), i + 1)
        case UInt8(ascii: "o"): return (lit(AtomPrimitive.aromaticElement, 8), i + 1)
        case UInt8(ascii: "p"): return (lit(AtomPrimitive.aromaticElement, 15), i + 1)
        case UInt8(ascii: "s"): return (lit(AtomPrimitive.aromaticElement, 16), i + 1)
        case UInt8(ascii: "a"): return (lit(AtomPrimitive.aromatic, 0), i + 1)
        case UInt8(ascii: "d"): return try counted(AtomPrimitive.heavyDegree, default: 1)
        case UInt8(ascii: "z"): return try counted(AtomPrimitive.heteroNeighbors, default: -1)
        case UInt8(ascii: "r"): return try counted(AtomPrimitive.ringSize, default: -1)
        case UInt8(ascii: "v"): return try counted(AtomPrimitive.valence, default: 1)
        case UInt8(ascii: "x"): return try counted(AtomPrimitive.ringBondCount, default: -1)
        default: throw fail(i, "unsupported atom primitive \(character(i))")
        }
      default:
        throw fail(i, "unexpected \(character(i)) in a bracket atom")
      }
    }

    /// A bond expression from `i`: its query index and the position after it.
    func parseBond(_ i: Int, into t: inout SmartsQueryTable) throws(SmartsError) -> (Int, Int) {
      var p = i
      var expectOperand = true
      var negations = 0
      var negationPos = i
      var operatorPos = i
      func lit(_ kind: UInt8) -> SmartsLiteral { SmartsLiteral(kind: kind, negated: false, value: 0) }
      loop: while p < end {
        let ch = bytes[p]
        var literal: SmartsLiteral
        switch ch {
        case UInt8(ascii: "!"):
          if negations == 0 { negationPos = p }
          negations += 1
          p += 1
          continue
        case UInt8(ascii: "&"), UInt8(ascii: ","), UInt8(ascii: ";"):
          if negations > 0 { throw fail(negationPos, "'!' without an operand") }
          if expectOperand { throw fail(p, "operator \(character(p)) without a left operand") }
          if ch == UInt8(ascii: ",") {
            t.termEnd.append(Int32(t.literals.count))
          } else if ch == UInt8(ascii: ";") {
            t.termEnd.append(Int32(t.literals.count))
            t.groupEnd.append(Int32(t.termEnd.count))
          }
          expectOperand = true
          operatorPos = p
          p += 1
          continue
        case UInt8(ascii: "-"): literal = lit(BondPrimitive.single)
        case UInt8(ascii: "="): literal = lit(BondPrimitive.double)
        case UInt8(ascii: "#"): literal = lit(BondPrimitive.triple)
        case UInt8(ascii: ":"): literal = lit(BondPrimitive.aromatic)
        case UInt8(ascii: "~"): literal = lit(BondPrimitive.any)
        case UInt8(ascii: "@"): literal = lit(BondPrimitive.ring)
        case UInt8(ascii: "/"), UInt8(ascii: "\\"): literal = lit(BondPrimitive.singleOrAromatic)
        case UInt8(ascii: "$"): literal = lit(BondPrimitive.quadruple)
        default: break loop
        }
        literal.negated = negations % 2 == 1
        t.literals.append(literal)
        negations = 0
        expectOperand = false
        p += 1
      }
      if negations > 0 { throw fail(negationPos, "'!' without an operand") }
      if expectOperand { throw fail(operatorPos, "operator without a right operand") }
      t.termEnd.append(Int32(t.literals.count))
      t.groupEnd.append(Int32(t.termEnd.count))
      t.queryEnd.append(Int32(t.groupEnd.count))
      return (t.count - 1, p)
    }
  }

  /// The match plan of a subpattern (depth-first from atom 0, then from the first atom of each
  /// further component) and its atoms' prefilters (element mask, minimum degree).
  static func plan(_ sub: inout SmartsSubpattern, _ c: inout CompiledSmarts) {
    planOrder(&sub, rootScore: nil)
    prefilter(sub, &c)
  }

  /// The search order of a subpattern: depth-first from a root per component; the root is the
  /// component's first atom, or with `rootScore` its highest-scoring atom (first on ties).
  static func planOrder(_ sub: inout SmartsSubpattern, rootScore: [Int]?) {
    let n = sub.atomCount
    sub.order = []
    sub.parentStep = []
    sub.parentQuery = []
    sub.backStart = []
    sub.backStep = []
    sub.backQuery = []
    var adjacency = [[(atom: Int, bond: Int)]](repeating: [], count: n)
    for k in sub.bondA.indices {
      let (a, b) = (Int(sub.bondA[k]), Int(sub.bondB[k]))
      adjacency[a].append((b, k))
      adjacency[b].append((a, k))
    }
    var stepOf = [Int](repeating: -1, count: n)
    var parentBond = [Int](repeating: -1, count: n)
    sub.order.reserveCapacity(n)
    // Components, for choosing a root in each.
    var component = [Int](repeating: -1, count: n)
    var members: [[Int]] = []
    for start in 0 ..< n where component[start] < 0 {
      var list = [start]
      component[start] = members.count
      var head = 0
      while head < list.count {
        let x = list[head]
        head += 1
        for (y, _) in adjacency[x] where component[y] < 0 {
          component[y] = members.count
          list.append(y)
        }
      }
      members.append(list.sorted())
    }
    for list in members {
      var root = list[0]
      if let rootScore {
        for a in list where rootScore[a] > rootScore[root] { root = a }
      }
      var stack: [(atom: Int, fromStep: Int, bond: Int)] = [(root, -1, -1)]
      while let (atom, fromStep, bond) = stack.popLast() {
        if stepOf[atom] >= 0 { continue }
        stepOf[atom] = sub.order.count
        parentBond[atom] = bond
        sub.order.append(Int32(atom))
        sub.parentStep.append(Int32(fromStep))
        sub.parentQuery.append(bond >= 0 ? sub.bondQuery[bond] : -1)
        for (next, b) in adjacency[atom].reversed() where stepOf[next] < 0 {
          stack.append((next, stepOf[atom], b))
        }
      }
    }
    // Back bonds: every bond that is not the parent bond of its later atom.
    var back = [[(step: Int32, query: Int32)]](repeating: [], count: n)
    for k in sub.bondA.indices {
      let (a, b) = (Int(sub.bondA[k]), Int(sub.bondB[k]))
      let later = stepOf[a] > stepOf[b] ? a : b
      let earlier = later == a ? b : a
      if parentBond[later] == k { continue }
      back[stepOf[later]].append((Int32(stepOf[earlier]), sub.bondQuery[k]))
    }
    sub.backStart = [0]
    for s in 0 ..< n {
      for (step, query) in back[s] {
        sub.backStep.append(step)
        sub.backQuery.append(query)
      }
      sub.backStart.append(Int32(sub.backStep.count))
    }
  }

  /// Per atom of a subpattern: the elements it can match and its bond count.
  static func prefilter(_ sub: SmartsSubpattern, _ c: inout CompiledSmarts) {
    let n = sub.atomCount
    var bonds = [Int32](repeating: 0, count: n)
    for k in sub.bondA.indices {
      bonds[Int(sub.bondA[k])] += 1
      bonds[Int(sub.bondB[k])] += 1
    }
    let t = c.atomQueries
    for local in 0 ..< n {
      let q = Int(c.atomQuery[sub.atomBase + local])
      var low = UInt64.max, high = UInt64.max
      for g in t.groups(q) {
        var groupLow: UInt64 = 0, groupHigh: UInt64 = 0
        for term in t.terms(g) {
          var termLow = UInt64.max, termHigh = UInt64.max
          for l in t.literalRange(term) {
            let literal = t.literals[l]
            guard !literal.negated, literal.value >= 0, literal.value < 128,
              literal.kind == AtomPrimitive.aliphaticElement || literal.kind == AtomPrimitive.aromaticElement
                || literal.kind == AtomPrimitive.atomicNumber
            else { continue }
            let v = UInt64(literal.value)
            if v < 64 {
              termLow &= 1 << v
              termHigh = 0
            } else {
              termLow = 0
              termHigh &= 1 << (v - 64)
            }
          }
          groupLow |= termLow
          groupHigh |= termHigh
        }
        low &= groupLow
        high &= groupHigh
      }
      c.elementMaskLow.append(low)
      c.elementMaskHigh.append(high)
      c.minDegree.append(bonds[local])
    }
  }
}
