import Foundation

/// A protein descriptor with the value Biopython 1.88's `Bio.SeqUtils.ProtParam.ProteinAnalysis`
/// gives. The raw value is the stable name used in catalogs and training sets.
///
/// Which letters each descriptor accepts (see ``ProteinAnalysis`` for the whole rule):
///
/// | descriptor | Biopython | accepted letters |
/// |---|---|---|
/// | `length` | `len(sequence)` | all 26 letters |
/// | `mol_wt` | `molecular_weight()` (average masses, one water off per peptide bond) | 20 standard, U, O |
/// | `pi` | `isoelectric_point()` (Bjellqvist pKs, bisection) | 20 standard, U, O, J; B, Z, X only where the pI is the same whatever they stand for (pinned to 4.05 or 12) |
/// | `gravy` | `gravy()` (Kyte–Doolittle) | 20 standard |
/// | `aromaticity` | `aromaticity()` (F+W+Y fraction) | 20 standard, U, O, B, Z, J |
/// | `instability_index` | `instability_index()` (Guruprasad DIWV) | 20 standard; any letter alone (no dipeptide: 0) |
/// | `helix_fraction` | `secondary_structure_fraction()[0]` (E M A L K) | 20 standard, U, O, B |
/// | `turn_fraction` | `secondary_structure_fraction()[1]` (N P G S D) | 20 standard, U, O, Z, J |
/// | `sheet_fraction` | `secondary_structure_fraction()[2]` (V I Y F W L T) | 20 standard, U, O, B, Z |
/// | `extinction_reduced` | `molar_extinction_coefficient()[0]` (W, Y) | 20 standard, U, O, B, Z, J |
/// | `extinction_cystines` | `molar_extinction_coefficient()[1]` (W, Y, C pairs) | 20 standard, U, O, B, Z, J |
public enum ProteinDescriptor: String, CaseIterable, Sendable {
  case length
  case molWt = "mol_wt"
  case pi
  case gravy
  case aromaticity
  case instabilityIndex = "instability_index"
  case helixFraction = "helix_fraction"
  case turnFraction = "turn_fraction"
  case sheetFraction = "sheet_fraction"
  case extinctionReduced = "extinction_reduced"
  case extinctionCystines = "extinction_cystines"

  /// The 88 names of `peptides.Peptide(seq).descriptors()` (peptides 0.3.2), in its order.
  public static var peptideDescriptorNames: [String] { ProteinAnalysis.peptideDescriptorNames }
}

/// Why a sequence has no value for a descriptor. Positions are 0-based in the input bytes (the
/// description counts from 1).
public enum ProteinDescriptorError: Error, Equatable, Sendable, CustomStringConvertible {
  case empty
  /// A byte that is not an ASCII letter: whitespace, digits, `*`, `-`, `.`, anything else.
  /// Canonicalize first (``ProteinCanonicalizer`` drops whitespace, digits and a final `*`).
  case invalidCharacter(byte: UInt8, position: Int)
  /// B, Z, J or X where the value depends on which residue the code stands for (Biopython raises
  /// or counts the code as a residue it may not be; peptides scores it 0).
  case ambiguousResidue(byte: UInt8, position: Int, descriptor: String)
  /// U (selenocysteine) or O (pyrrolysine) where the scale has no value for it (Biopython raises;
  /// peptides scores it 0).
  case nonstandardResidue(byte: UInt8, position: Int, descriptor: String)
  /// A lower-case letter in the peptides descriptors: peptides scores lower-case letters 0 (it
  /// does not fold case, as Biopython does); canonicalize to upper case first.
  case lowercaseResidue(byte: UInt8, position: Int, descriptor: String)

  public var description: String {
    switch self {
    case .empty: return "empty sequence"
    case let .invalidCharacter(b, p): return "\(ProteinSequenceError.show(b)) at position \(p + 1) is not a residue letter"
    case let .ambiguousResidue(b, p, d):
      return "ambiguity code \(ProteinSequenceError.show(b)) at position \(p + 1): \(d) depends on the residue it stands for"
    case let .nonstandardResidue(b, p, d):
      return "residue \(ProteinSequenceError.show(b)) at position \(p + 1): \(d) has no value for it"
    case let .lowercaseResidue(b, p, d):
      return "lower-case letter \(ProteinSequenceError.show(b)) at position \(p + 1): \(d) are defined on upper-case sequences"
    }
  }
}

/// Protein descriptors computed on bytes, equal to Biopython 1.88's `ProteinAnalysis` and to
/// peptides 0.3.2's `Peptide(seq).descriptors()`.
///
/// Input: the residue letters as bytes, one letter per residue, nothing else (no whitespace, no
/// terminal `*`: pass the output of ``ProteinCanonicalizer``).
///
/// Rejection rule (a typed ``ProteinDescriptorError`` names the first offending position):
/// - an empty sequence, and any byte that is not an ASCII letter, are rejected by every
///   descriptor (Biopython raises on them or counts them as residues);
/// - Biopython descriptors fold lower case to upper case, as Biopython does;
/// - U and O are accepted where Biopython has a value for them (length, mass, pI and the
///   composition fractions, in which they count as residues of no class), rejected where it
///   raises (GRAVY, instability index);
/// - an ambiguity code (B = D/N, Z = E/Q, J = I/L, X = any) is accepted only where Biopython's
///   value does not depend on what it stands for: Biopython counts a code as a residue of no
///   class (not charged, not aromatic, no helix/turn/sheet former), which is right exactly when
///   none of the residues it may stand for belongs to the class (so B passes for aromaticity, J
///   for pI; X never passes except for length); where Biopython raises (mass, GRAVY,
///   instability) every code is rejected. The pI with B, Z or X is given when it is the same
///   for every reading of the codes (``decidedIsoelectricPoint(_:counts:)``), and a single
///   residue's instability index is 0 whatever the letter (Biopython looks up no dipeptide);
/// - peptides descriptors accept only the 20 standard residues in upper case: peptides counts
///   any other character in the length with a score of 0, lower case included, which gives a
///   value without meaning.
public enum ProteinAnalysis {
  /// Tag-LLM's `<Descriptor>` label: the FIRST value of peptides' `descriptors()`, which is
  /// `BLOSUM1`, the mean of Georgiev's first BLOSUM index over the residues.
  public static let tagLLMDescriptorName = "BLOSUM1"

  /// The 88 names of `peptides.Peptide(seq).descriptors()`, in its order (BLOSUM1 first).
  public static let peptideDescriptorNames: [String] = ProteinScales.peptideNames

  // MARK: Letter tables

  /// Byte -> letter index 0...25 (A...Z), with 0x80 set for lower case; 0xFF for non-letters.
  static let letterClass: [UInt8] = {
    var t = [UInt8](repeating: 0xFF, count: 256)
    for i in 0..<26 {
      t[Int(UInt8(ascii: "A")) + i] = UInt8(i)
      t[Int(UInt8(ascii: "a")) + i] = UInt8(i) | 0x80
    }
    return t
  }()

  static func bit(_ letters: String) -> UInt32 {
    var m: UInt32 = 0
    for b in letters.utf8 { m |= 1 << UInt32(b - UInt8(ascii: "A")) }
    return m
  }

  static let standard = bit("ACDEFGHIKLMNPQRSTVWY")
  static let uo = bit("UO")
  static let ambiguityCodes = bit("BZJX")

  /// Letters each descriptor accepts (bit i = letter A + i); see the table on ``ProteinDescriptor``.
  static func accepted(_ d: ProteinDescriptor) -> UInt32 {
    switch d {
    case .length: return standard | uo | ambiguityCodes
    case .molWt: return standard | uo
    case .pi: return standard | uo | bit("J")
    case .gravy, .instabilityIndex: return standard
    case .aromaticity, .extinctionReduced, .extinctionCystines: return standard | uo | bit("BZJ")
    case .helixFraction: return standard | uo | bit("B")
    case .turnFraction: return standard | uo | bit("ZJ")
    case .sheetFraction: return standard | uo | bit("BZ")
    }
  }

  /// A 26-entry table (by letter) from a 20-entry table in ``ProteinScales/standardResidues``
  /// order; other letters get `other`.
  static func byLetter(_ values: [Double], extra: [(UInt8, Double)] = [], other: Double = 0) -> [Double] {
    var t = [Double](repeating: other, count: 26)
    for (k, r) in ProteinScales.standardResidues.enumerated() { t[Int(r - UInt8(ascii: "A"))] = values[k] }
    for (r, v) in extra { t[Int(r - UInt8(ascii: "A"))] = v }
    return t
  }

  static let massByLetter = byLetter(
    Array(ProteinScales.averageMass[0..<20]),
    extra: [(UInt8(ascii: "U"), ProteinScales.averageMass[20]), (UInt8(ascii: "O"), ProteinScales.averageMass[21])])
  static let kdByLetter = byLetter(ProteinScales.kyteDoolittle)
  /// 26 x 26 dipeptide table by letters (0 outside the 20 standard residues).
  static let diwvByLetters: [Double] = {
    var t = [Double](repeating: 0, count: 26 * 26)
    let r = ProteinScales.standardResidues.map { Int($0 - UInt8(ascii: "A")) }
    for i in 0..<20 { for j in 0..<20 { t[r[i] * 26 + r[j]] = ProteinScales.dipeptideInstability[i * 20 + j] } }
    return t
  }()

  // MARK: Scan

  /// Letter counts and the sums Biopython accumulates residue by residue (in sequence order, so
  /// that the floating-point result is Biopython's to the last bit).
  struct Scan {
    var present: UInt32 = 0
    var massSum = 0.0
    var kdSum = 0.0
    var diwvSum = 0.0
  }

  /// One pass: counts per letter (case folded) into `counts` (26 entries, zeroed by the caller),
  /// presence, and (when `sums`) the sequential sums. Throws on a byte that is not a letter.
  @inline(__always)
  static func scan(_ s: UnsafeBufferPointer<UInt8>, counts: UnsafeMutablePointer<Int>, sums: Bool) throws(ProteinDescriptorError)
    -> Scan
  {
    var r = Scan()
    let fail: Int? = letterClass.withUnsafeBufferPointer { cls -> Int? in
      if !sums {
        for i in 0..<s.count {
          let c = cls[Int(s[i])]
          if c == 0xFF { return i }
          counts[Int(c & 0x1F)] += 1
        }
        return nil
      }
      return massByLetter.withUnsafeBufferPointer { mass in
        kdByLetter.withUnsafeBufferPointer { kd in
          diwvByLetters.withUnsafeBufferPointer { diwv -> Int? in
            var m = 0.0, h = 0.0, d = 0.0
            var previous = -1
            for i in 0..<s.count {
              let c = cls[Int(s[i])]
              if c == 0xFF { return i }
              let l = Int(c & 0x1F)
              counts[l] += 1
              m += mass[l]
              h += kd[l]
              if previous >= 0 { d += diwv[previous &* 26 &+ l] }
              previous = l
            }
            r.massSum = m
            r.kdSum = h
            r.diwvSum = d
            return nil
          }
        }
      }
    }
    if let fail { throw .invalidCharacter(byte: s[fail], position: fail) }
    for l in 0..<26 where counts[l] > 0 { r.present |= 1 << UInt32(l) }
    return r
  }

  /// The error for the first position whose letter (case folded) is in `bad`.
  static func rejection(_ s: UnsafeBufferPointer<UInt8>, bad: UInt32, descriptor: String)
    -> ProteinDescriptorError
  {
    for i in 0..<s.count {
      let c = letterClass[Int(s[i])]
      let l = UInt32(c & 0x1F)
      if bad & (1 << l) != 0 {
        let upper = UInt8(ascii: "A") + UInt8(l)
        return upper == UInt8(ascii: "U") || upper == UInt8(ascii: "O")
          ? .nonstandardResidue(byte: s[i], position: i, descriptor: descriptor)
          : .ambiguousResidue(byte: s[i], position: i, descriptor: descriptor)
      }
    }
    return .empty  // not reached: the scan found the letter
  }

  // MARK: Biopython descriptors

  /// The values of `descriptors` for `sequence`, in the order asked, appended to `out`.
  public static func descriptors(_ descriptors: [ProteinDescriptor], of sequence: UnsafeBufferPointer<UInt8>,
                                 into out: inout [Double]) throws(ProteinDescriptorError)
  {
    let n = sequence.count
    if n == 0 { throw .empty }
    let sums = descriptors.contains { $0 == .molWt || $0 == .gravy || $0 == .instabilityIndex }
    let result: Result<Void, ProteinDescriptorError> = withUnsafeTemporaryAllocation(of: Int.self, capacity: 26) { c in
      let counts = c.baseAddress!
      counts.initialize(repeating: 0, count: 26)
      let scan: Scan
      do throws(ProteinDescriptorError) { scan = try Self.scan(sequence, counts: counts, sums: sums) } catch { return .failure(error) }
      var piValue: Double?
      for d in descriptors {
        var bad = scan.present & ~accepted(d)
        // A single residue has no dipeptide: its instability index is 0 whatever the letter.
        if d == .instabilityIndex && n == 1 { bad = 0 }
        // B, Z and X leave the pI undecided unless it is the same whatever they stand for
        // (as when it is pinned to an end of the interval searched).
        if d == .pi && bad & ~ambiguityCodes == 0 && bad != 0 {
          if let value = decidedIsoelectricPoint(sequence, counts: counts) {
            piValue = value
            bad = 0
          }
        }
        if bad != 0 { return .failure(rejection(sequence, bad: bad, descriptor: d.rawValue)) }
      }
      func count(_ letter: Unicode.Scalar) -> Int { counts[Int(UInt8(ascii: letter) - UInt8(ascii: "A"))] }
      // Biopython's fractions: sum over the letters of (count * 100 / length) / 100.
      func fraction(_ letters: String) -> Double {
        var f = 0.0
        for b in letters.unicodeScalars { f += Double(count(b) * 100) / Double(n) / 100 }
        return f
      }
      for d in descriptors {
        switch d {
        case .length: out.append(Double(n))
        case .molWt: out.append(scan.massSum - Double(n - 1) * ProteinScales.waterAverageMass)
        case .pi: out.append(piValue ?? isoelectricPoint(sequence, counts: counts))
        case .gravy: out.append(scan.kdSum / Double(n))
        case .aromaticity: out.append(fraction("YWF"))
        case .instabilityIndex: out.append((10.0 / Double(n)) * scan.diwvSum)
        case .helixFraction: out.append(fraction("EMALK"))
        case .turnFraction: out.append(fraction("NPGSD"))
        case .sheetFraction: out.append(fraction("VIYFWLT"))
        case .extinctionReduced: out.append(Double(count("W") * 5500 + count("Y") * 1490))
        case .extinctionCystines: out.append(Double(count("W") * 5500 + count("Y") * 1490 + count("C") / 2 * 125))
        }
      }
      return .success(())
    }
    try result.get()
  }

  public static func descriptors(_ descriptors: [ProteinDescriptor], of sequence: UnsafeBufferPointer<UInt8>)
    throws(ProteinDescriptorError) -> [Double]
  {
    var out = [Double]()
    out.reserveCapacity(descriptors.count)
    try Self.descriptors(descriptors, of: sequence, into: &out)
    return out
  }

  public static func descriptors(_ descriptors: [ProteinDescriptor], of sequence: [UInt8]) throws(ProteinDescriptorError)
    -> [Double]
  {
    try withBuffer(sequence) { (s) throws(ProteinDescriptorError) in try Self.descriptors(descriptors, of: s) }
  }

  static func withBuffer<T>(_ a: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws(ProteinDescriptorError) -> T)
    throws(ProteinDescriptorError) -> T
  {
    let r: Result<T, ProteinDescriptorError> = a.withUnsafeBufferPointer { s in
      do throws(ProteinDescriptorError) { return .success(try body(s)) } catch { return .failure(error) }
    }
    return try r.get()
  }

  /// Bjellqvist's isoelectric point, found as Biopython finds it: bisection of [4.05, 12] from
  /// pH 7.775, moving the lower bound up while the net charge is positive, until the interval is
  /// at most 1e-4 wide; the answer is the last pH at which the charge was computed. The charge
  /// sums the groups in Biopython's order (N-terminus, K, R, H; C-terminus, D, E, C, Y) so that
  /// its sign, and so every step, is the same. Letters other than K R H D E C Y carry no charge.
  static func isoelectricPoint(_ s: UnsafeBufferPointer<UInt8>, counts: UnsafeMutablePointer<Int>) -> Double {
    let model = ChargeModel(s, counts: counts)
    return bisect(model.charge)
  }

  static func bisect(_ charge: (Double) -> Double) -> Double {
    var pH = 7.775, low = 4.05, high = 12.0
    while high - low > 0.0001 {
      if charge(pH) > 0.0 { low = pH } else { high = pH }
      pH = (low + high) / 2
    }
    return pH
  }

  /// Biopython's charge model for one sequence.
  struct ChargeModel {
    var nTerm, cTerm, k, r, h, d, e, c, y: Double

    init(_ s: UnsafeBufferPointer<UInt8>, counts: UnsafeMutablePointer<Int>) {
      func count(_ letter: Unicode.Scalar) -> Double { Double(counts[Int(UInt8(ascii: letter) - UInt8(ascii: "A"))]) }
      nTerm = ProteinScales.pKNTerminusByResidue[s[0] & 0xDF] ?? ProteinScales.pKNTerminus
      cTerm = ProteinScales.pKCTerminusByResidue[s[s.count - 1] & 0xDF] ?? ProteinScales.pKCTerminus
      k = count("K"); r = count("R"); h = count("H")
      d = count("D"); e = count("E"); c = count("C"); y = count("Y")
    }

    func charge(_ pH: Double) -> Double {
      var plus = 0.0
      plus += 1.0 * (1.0 / (pow(10.0, pH - nTerm) + 1.0))
      plus += k * (1.0 / (pow(10.0, pH - ProteinScales.pKLys) + 1.0))
      plus += r * (1.0 / (pow(10.0, pH - ProteinScales.pKArg) + 1.0))
      plus += h * (1.0 / (pow(10.0, pH - ProteinScales.pKHis) + 1.0))
      var minus = 0.0
      minus += 1.0 * (1.0 / (pow(10.0, cTerm - pH) + 1.0))
      minus += d * (1.0 / (pow(10.0, ProteinScales.pKAsp - pH) + 1.0))
      minus += e * (1.0 / (pow(10.0, ProteinScales.pKGlu - pH) + 1.0))
      minus += c * (1.0 / (pow(10.0, ProteinScales.pKCys - pH) + 1.0))
      minus += y * (1.0 / (pow(10.0, ProteinScales.pKTyr - pH) + 1.0))
      return plus - minus
    }
  }

  /// The charge at `pH` that residue `residue` (upper case) adds to a chain, over that of a
  /// residue without charge in the same place (side chain, and the terminal group when it is
  /// the first or last residue).
  static func extraCharge(_ residue: UInt8, first: Bool, last: Bool, pH: Double) -> Double {
    func plus(_ pK: Double) -> Double { 1.0 / (pow(10.0, pH - pK) + 1.0) }
    func minus(_ pK: Double) -> Double { 1.0 / (pow(10.0, pK - pH) + 1.0) }
    var q = 0.0
    switch residue {
    case UInt8(ascii: "K"): q += plus(ProteinScales.pKLys)
    case UInt8(ascii: "R"): q += plus(ProteinScales.pKArg)
    case UInt8(ascii: "H"): q += plus(ProteinScales.pKHis)
    case UInt8(ascii: "D"): q -= minus(ProteinScales.pKAsp)
    case UInt8(ascii: "E"): q -= minus(ProteinScales.pKGlu)
    case UInt8(ascii: "C"): q -= minus(ProteinScales.pKCys)
    case UInt8(ascii: "Y"): q -= minus(ProteinScales.pKTyr)
    default: break
    }
    if first, let pK = ProteinScales.pKNTerminusByResidue[residue] { q += plus(pK) - plus(ProteinScales.pKNTerminus) }
    if last, let pK = ProteinScales.pKCTerminusByResidue[residue] { q -= minus(pK) - minus(ProteinScales.pKCTerminus) }
    return q
  }

  static let ambiguityMembers: [UInt8: [UInt8]] = [
    UInt8(ascii: "B"): Array("DN".utf8), UInt8(ascii: "Z"): Array("EQ".utf8),
    UInt8(ascii: "X"): Array("ACDEFGHIKLMNPQRSTVWY".utf8),
  ]

  /// Biopython's pI of a sequence with B, Z or X when it is the same whatever residues they stand
  /// for, else nil. Biopython counts a code as a residue without charge (which each code may
  /// be: N, Q, or any neutral residue), so its charge curve lies between the lowest and the
  /// highest curve the codes allow, position by position; the bisection, which follows the sign
  /// of the charge, then ends between the pIs of those two bounds. When both bounds end at the
  /// same pH (in practice: the pI is pinned to 4.05 or 12 whatever the codes are), so does every
  /// reading of the codes, and that pH is Biopython's value.
  static func decidedIsoelectricPoint(_ s: UnsafeBufferPointer<UInt8>, counts: UnsafeMutablePointer<Int>) -> Double? {
    let model = ChargeModel(s, counts: counts)
    // Occurrences of codes: interior ones by code (same bound each), the ends on their own.
    var interior: [(members: [UInt8], count: Int)] = []
    for (code, members) in ambiguityMembers {
      var n = counts[Int(code - UInt8(ascii: "A"))]
      if s[0] & 0xDF == code { n -= 1 }
      if s.count > 1 && s[s.count - 1] & 0xDF == code { n -= 1 }
      if n > 0 { interior.append((members, n)) }
    }
    var ends: [(members: [UInt8], first: Bool, last: Bool)] = []
    if let m = ambiguityMembers[s[0] & 0xDF] { ends.append((m, true, s.count == 1)) }
    if s.count > 1, let m = ambiguityMembers[s[s.count - 1] & 0xDF] { ends.append((m, false, true)) }
    func bound(_ pH: Double, highest: Bool) -> Double {
      var q = model.charge(pH)
      for (members, n) in interior {
        let extra = members.map { extraCharge($0, first: false, last: false, pH: pH) }
        q += Double(n) * (highest ? extra.max()! : extra.min()!)
      }
      for (members, first, last) in ends {
        let extra = members.map { extraCharge($0, first: first, last: last, pH: pH) }
        q += highest ? extra.max()! : extra.min()!
      }
      return q
    }
    let low = bisect { bound($0, highest: false) }, high = bisect { bound($0, highest: true) }
    let value = bisect(model.charge)
    return low == high && value == low ? value : nil
  }
}
