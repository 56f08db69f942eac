/// Why a SMARTS string has no pattern: the 0-based byte position in the SMARTS where the problem
/// was found, and what it is.
public struct SmartsError: Error, Sendable, Equatable, CustomStringConvertible {
  public let position: Int
  public let message: String

  public init(position: Int, message: String) {
    self.position = position
    self.message = message
  }

  public var description: String { "SMARTS error at position \(position): \(message)" }
}

/// One primitive test of an atom or bond query, possibly negated.
struct SmartsLiteral: Sendable, Equatable {
  var kind: UInt8
  var negated: Bool
  var value: Int32
  /// The primitive's value in an isotope unit (``AtomPrimitive/isotopeUnit``).
  var extra: Int32 = 0
}

/// Atom primitive kinds (``SmartsLiteral/kind`` of atom queries).
enum AtomPrimitive {
  static let any: UInt8 = 0            // `*`
  static let aliphaticElement: UInt8 = 1  // `C`, `[Cl]`: element and not aromatic
  static let aromaticElement: UInt8 = 2   // `c`, `[se]`
  static let atomicNumber: UInt8 = 3      // `#n`, `[Si]`: element, either aromaticity
  static let aromatic: UInt8 = 4          // `a`
  static let aliphatic: UInt8 = 5         // `A`
  static let hydrogenCount: UInt8 = 6     // `Hn`: total H, H-atom neighbours included
  static let degree: UInt8 = 7            // `Dn`: graph neighbours
  static let totalDegree: UInt8 = 8       // `Xn`: neighbours + hydrogens
  static let valence: UInt8 = 9           // `vn`: total valence
  static let ringCount: UInt8 = 10        // `Rn` (value -1: `R`, in any ring)
  static let ringSize: UInt8 = 11         // `rn`: smallest ring size (value -1: `r`, in a ring)
  static let ringBondCount: UInt8 = 12    // `xn` (value -1: `x`, any ring bond)
  static let charge: UInt8 = 13           // `+n`, `-n`
  static let isotope: UInt8 = 14          // `13`
  static let recursive: UInt8 = 15        // `$(...)`: value = subpattern index
  static let heavyDegree: UInt8 = 16      // `dn`: neighbours that are not H atoms (RDKit extension)
  static let heteroNeighbors: UInt8 = 17  // `zn`: neighbours other than C and H (value -1: `z`, any)
  static let aliphaticHeteroNeighbors: UInt8 = 18  // `Zn`: the aliphatic ones (value -1: `Z`, any)
  /// A mass written right before an atom's identity (`8#1`, `13C`, `2H`) is one unit with it, as
  /// RDKit reads it (`[!13C]` = not a carbon-13): isotope == value and the primitive
  /// `kind - isotopeUnit` with value `extra`.
  static let isotopeUnit: UInt8 = 32
}

/// Bond primitive kinds (``SmartsLiteral/kind`` of bond queries).
enum BondPrimitive {
  static let any: UInt8 = 0               // `~`
  static let single: UInt8 = 1            // `-`
  static let double: UInt8 = 2            // `=`
  static let triple: UInt8 = 3            // `#`
  static let aromatic: UInt8 = 4          // `:`
  static let ring: UInt8 = 5              // `@`
  static let singleOrAromatic: UInt8 = 6  // no symbol (and `/`, `\`, as RDKit reads them)
  static let quadruple: UInt8 = 7         // `$` between atoms
}

/// Queries in conjunctive form, stored flat: a query is an AND (`;`) of groups, a group an OR
/// (`,`) of terms, a term an AND (`&` or adjacency) of literals. SMARTS atom and bond
/// expressions have no parentheses, so this three-level form holds every one of them.
struct SmartsQueryTable: Sendable {
  var literals: [SmartsLiteral] = []
  /// Term t holds literals[termEnd[t-1] ..< termEnd[t]] (0 for t = 0).
  var termEnd: [Int32] = []
  /// Group g holds terms[groupEnd[g-1] ..< groupEnd[g]].
  var groupEnd: [Int32] = []
  /// Query q holds groups[queryEnd[q-1] ..< queryEnd[q]].
  var queryEnd: [Int32] = []

  var count: Int { queryEnd.count }

  @inline(__always) func groups(_ q: Int) -> Range<Int> {
    (q == 0 ? 0 : Int(queryEnd[q - 1])) ..< Int(queryEnd[q])
  }
  @inline(__always) func terms(_ g: Int) -> Range<Int> {
    (g == 0 ? 0 : Int(groupEnd[g - 1])) ..< Int(groupEnd[g])
  }
  @inline(__always) func literalRange(_ t: Int) -> Range<Int> {
    (t == 0 ? 0 : Int(termEnd[t - 1])) ..< Int(termEnd[t])
  }

  /// A query of one literal.
  mutating func addSingle(_ literal: SmartsLiteral) -> Int {
    literals.append(literal)
    termEnd.append(Int32(literals.count))
    groupEnd.append(Int32(termEnd.count))
    queryEnd.append(Int32(groupEnd.count))
    return queryEnd.count - 1
  }
}

/// One connected-or-dotted SMARTS graph: the top-level pattern or the body of a `$(...)`.
/// Its atoms are numbered globally (``CompiledSmarts/atomQuery`` etc.) from `atomBase`.
struct SmartsSubpattern: Sendable {
  var atomBase: Int
  var atomCount: Int
  /// Bonds: local atom indices and bond query.
  var bondA: [Int32] = []
  var bondB: [Int32] = []
  var bondQuery: [Int32] = []
  /// Match plan: the local atom placed at each step (atom 0 first), the step of its already
  /// placed neighbour it is looked for from (-1: a component's first atom, looked for among all
  /// atoms) and the query of that bond; then the other bonds back to placed atoms.
  var order: [Int32] = []
  var parentStep: [Int32] = []
  var parentQuery: [Int32] = []
  var backStart: [Int32] = []  // atomCount + 1 entries
  var backStep: [Int32] = []
  var backQuery: [Int32] = []
}

/// A parsed SMARTS: the query tables, per-atom prefilters, and the subpatterns (index 0 = the
/// pattern itself, then every `$(...)` body at any depth).
struct CompiledSmarts: Sendable {
  var atomQueries = SmartsQueryTable()
  var bondQueries = SmartsQueryTable()
  /// Per global pattern atom: its query, the elements it can match (a 128-bit mask; elements
  /// beyond 127 always pass) and its bond count in the pattern (a lower bound on the degree).
  var atomQuery: [Int32] = []
  var elementMaskLow: [UInt64] = []
  var elementMaskHigh: [UInt64] = []
  var minDegree: [Int32] = []
  var subpatterns: [SmartsSubpattern] = []
  var totalAtoms: Int { atomQuery.count }
}

/// A ``CompiledSmarts`` in flat buffers, allocated once per pattern and read-only afterwards:
/// what the matcher reads, without reference counting. Per global pattern atom g of subpattern
/// s, `g - subBase[s]` is also the step index, so per-step values are stored at subBase + step.
final class SmartsProgram: @unchecked Sendable {
  let atomLiterals: UnsafeMutablePointer<SmartsLiteral>
  let atomTermEnd: UnsafeMutablePointer<Int32>
  let atomGroupEnd: UnsafeMutablePointer<Int32>
  let atomQueryEnd: UnsafeMutablePointer<Int32>
  let bondLiterals: UnsafeMutablePointer<SmartsLiteral>
  let bondTermEnd: UnsafeMutablePointer<Int32>
  let bondGroupEnd: UnsafeMutablePointer<Int32>
  let bondQueryEnd: UnsafeMutablePointer<Int32>
  /// Per step slot (subBase + step): the pattern atom placed (index within its subpattern), its query, element mask,
  /// minimum degree, parent step (-1: first atom of a component), parent bond query, and the
  /// back bonds backStep/backQuery[backStart ..< backEnd].
  let stepAtom: UnsafeMutablePointer<Int32>
  let stepQuery: UnsafeMutablePointer<Int32>
  let maskLow: UnsafeMutablePointer<UInt64>
  let maskHigh: UnsafeMutablePointer<UInt64>
  let minDegree: UnsafeMutablePointer<Int32>
  let parentStep: UnsafeMutablePointer<Int32>
  let parentQuery: UnsafeMutablePointer<Int32>
  let backStart: UnsafeMutablePointer<Int32>
  let backEnd: UnsafeMutablePointer<Int32>
  let backStep: UnsafeMutablePointer<Int32>
  let backQuery: UnsafeMutablePointer<Int32>
  let subBase: UnsafeMutablePointer<Int32>
  let subCount: UnsafeMutablePointer<Int32>
  /// Subpatterns: 0 the pattern (planned from its most selective atoms), then the `$(...)`
  /// bodies by index, then `anchoredTop`, the pattern planned from its atom 0.
  let subpatterns: Int
  let anchoredTop: Int
  let totalAtoms: Int
  /// Quick rejection for the top-level pattern: element masks of its atoms that are narrower
  /// than "any" (each needs some molecule atom of those elements), and its largest degree.
  let requiredLow: [UInt64]
  let requiredHigh: [UInt64]
  let topMaxDegree: Int32

  init(_ c: CompiledSmarts) {
    atomLiterals = smartsBuffer(c.atomQueries.literals)
    atomTermEnd = smartsBuffer(c.atomQueries.termEnd)
    atomGroupEnd = smartsBuffer(c.atomQueries.groupEnd)
    atomQueryEnd = smartsBuffer(c.atomQueries.queryEnd)
    bondLiterals = smartsBuffer(c.bondQueries.literals)
    bondTermEnd = smartsBuffer(c.bondQueries.termEnd)
    bondGroupEnd = smartsBuffer(c.bondQueries.groupEnd)
    bondQueryEnd = smartsBuffer(c.bondQueries.queryEnd)
    // The pattern itself is searched from its most selective atoms (rare elements, many
    // bonds); a copy planned from atom 0, at the end, serves anchored searches.
    let top = c.subpatterns[0]
    var free = top
    let scores = (0 ..< top.atomCount).map { local -> Int in
      let g = top.atomBase + local
      let (low, high) = (c.elementMaskLow[g], c.elementMaskHigh[g])
      let narrow = low != .max || high != .max
      let carbon = low & (1 << 6) != 0
      let hydrogen = low & (1 << 1) != 0
      return (narrow ? 8 : 0) + (narrow && !carbon ? 8 : 0) + (narrow && !hydrogen ? 4 : 0) + Int(c.minDegree[g])
    }
    SmartsParser.planOrder(&free, rootScore: scores)
    var plans: [(sub: SmartsSubpattern, base: Int)] = [(free, 0)]
    for sub in c.subpatterns.dropFirst() { plans.append((sub, sub.atomBase)) }
    plans.append((top, c.totalAtoms))
    let total = c.totalAtoms + top.atomCount
    totalAtoms = total
    subpatterns = plans.count
    anchoredTop = plans.count - 1
    var stepAtom = [Int32](repeating: 0, count: total)
    var stepQuery = [Int32](repeating: 0, count: total)
    var maskLow = [UInt64](repeating: 0, count: total)
    var maskHigh = [UInt64](repeating: 0, count: total)
    var minDegree = [Int32](repeating: 0, count: total)
    var parentStep = [Int32](repeating: -1, count: total)
    var parentQuery = [Int32](repeating: -1, count: total)
    var backStart = [Int32](repeating: 0, count: total)
    var backEnd = [Int32](repeating: 0, count: total)
    var backStep: [Int32] = []
    var backQuery: [Int32] = []
    var requiredLow: [UInt64] = []
    var requiredHigh: [UInt64] = []
    var topMaxDegree: Int32 = 0
    for (s, (sub, base)) in plans.enumerated() {
      for step in 0 ..< sub.atomCount {
        let slot = base + step
        let local = Int(sub.order[step])
        let g = sub.atomBase + local
        stepAtom[slot] = Int32(local)
        stepQuery[slot] = c.atomQuery[g]
        maskLow[slot] = c.elementMaskLow[g]
        maskHigh[slot] = c.elementMaskHigh[g]
        minDegree[slot] = c.minDegree[g]
        parentStep[slot] = sub.parentStep[step]
        parentQuery[slot] = sub.parentQuery[step]
        backStart[slot] = Int32(backStep.count)
        for k in Int(sub.backStart[step]) ..< Int(sub.backStart[step + 1]) {
          backStep.append(sub.backStep[k])
          backQuery.append(sub.backQuery[k])
        }
        backEnd[slot] = Int32(backStep.count)
        if s == 0 {
          topMaxDegree = max(topMaxDegree, c.minDegree[g])
          if c.elementMaskLow[g] != .max || c.elementMaskHigh[g] != .max {
            requiredLow.append(c.elementMaskLow[g])
            requiredHigh.append(c.elementMaskHigh[g])
          }
        }
      }
    }
    self.stepAtom = smartsBuffer(stepAtom)
    self.stepQuery = smartsBuffer(stepQuery)
    self.maskLow = smartsBuffer(maskLow)
    self.maskHigh = smartsBuffer(maskHigh)
    self.minDegree = smartsBuffer(minDegree)
    self.parentStep = smartsBuffer(parentStep)
    self.parentQuery = smartsBuffer(parentQuery)
    self.backStart = smartsBuffer(backStart)
    self.backEnd = smartsBuffer(backEnd)
    self.backStep = smartsBuffer(backStep)
    self.backQuery = smartsBuffer(backQuery)
    subBase = smartsBuffer(plans.map { Int32($0.base) })
    subCount = smartsBuffer(plans.map { Int32($0.sub.atomCount) })
    self.requiredLow = requiredLow
    self.requiredHigh = requiredHigh
    self.topMaxDegree = topMaxDegree
  }

  deinit {
    for p in [atomTermEnd, atomGroupEnd, atomQueryEnd, bondTermEnd, bondGroupEnd, bondQueryEnd, stepAtom, stepQuery,
              minDegree, parentStep, parentQuery, backStart, backEnd, backStep, backQuery, subBase, subCount] {
      p.deallocate()
    }
    atomLiterals.deallocate()
    bondLiterals.deallocate()
    maskLow.deallocate()
    maskHigh.deallocate()
  }

  /// Whether the target can hold a match at all (every narrow element mask meets an element
  /// present; the degrees suffice).
  func mayMatch(_ t: SmartsTargetStorage) -> Bool {
    if topMaxDegree > t.maxDegree { return false }
    if t.otherElements { return true }
    for k in requiredLow.indices where requiredLow[k] & t.presentLow == 0 && requiredHigh[k] & t.presentHigh == 0 {
      return false
    }
    return true
  }
}
