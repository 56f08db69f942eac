extension ProteinAnalysis {
  /// Residue letter (byte) -> index 0..<20 in ``ProteinScales/standardResidues`` order; 0xFF for
  /// anything else (lower case included: peptides does not fold case).
  static let standardIndex: [UInt8] = {
    var t = [UInt8](repeating: 0xFF, count: 256)
    for (k, r) in ProteinScales.standardResidues.enumerated() { t[Int(r)] = UInt8(k) }
    return t
  }()

  /// The 88 values of `peptides.Peptide(seq).descriptors()` (peptides 0.3.2), in the order of
  /// ``peptideDescriptorNames``, appended to `out`. Each is the mean of a published per-residue
  /// scale over the residues (BLOSUM indices, Cruciani properties, FASGAI vectors, Kidera
  /// factors, MS-WHIM scores, PCP descriptors, physical descriptors, ProtFP, Sneath vectors,
  /// ST-scales, SVGER, T-scales, VHSE, Z-scales).
  ///
  /// Accepts the 20 standard residues in upper case only; anything else is rejected (see
  /// ``ProteinAnalysis``): peptides scores every other character 0 but counts it in the length.
  public static func peptideDescriptors(of sequence: UnsafeBufferPointer<UInt8>, into out: inout [Double])
    throws(ProteinDescriptorError)
  {
    try peptideDescriptors(of: sequence, rows: ProteinScales.peptideNames.count, into: &out)
  }

  /// The first `rows` peptides descriptors.
  static func peptideDescriptors(of sequence: UnsafeBufferPointer<UInt8>, rows: Int, into out: inout [Double])
    throws(ProteinDescriptorError)
  {
    let n = sequence.count
    if n == 0 { throw .empty }
    let failed: Int? = withUnsafeTemporaryAllocation(of: Int.self, capacity: 20) { c -> Int? in
      let counts = c.baseAddress!
      counts.initialize(repeating: 0, count: 20)
      let bad: Int? = standardIndex.withUnsafeBufferPointer { index -> Int? in
        for i in 0..<n {
          let k = index[Int(sequence[i])]
          if k == 0xFF { return i }
          counts[Int(k)] += 1
        }
        return nil
      }
      if let bad { return bad }
      // Mean of each scale: sum over the 20 residues of count x value, divided by the length.
      let length = Double(n)
      ProteinScales.peptideScales.withUnsafeBufferPointer { scales in
        for row in 0..<rows {
          let base = row * 20
          var s = 0.0
          for j in 0..<20 { s += Double(counts[j]) * scales[base + j] }
          out.append(s / length)
        }
      }
      return nil
    }
    if let failed { throw peptideRejection(sequence, at: failed) }
  }

  /// The reason the peptides descriptors reject the byte at `i`.
  static func peptideRejection(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> ProteinDescriptorError {
    let descriptor = "peptides descriptors"
    let c = letterClass[Int(s[i])]
    if c == 0xFF { return .invalidCharacter(byte: s[i], position: i) }
    if c & 0x80 != 0 { return .lowercaseResidue(byte: s[i], position: i, descriptor: descriptor) }
    let upper = UInt8(ascii: "A") + (c & 0x1F)
    return upper == UInt8(ascii: "U") || upper == UInt8(ascii: "O")
      ? .nonstandardResidue(byte: s[i], position: i, descriptor: descriptor)
      : .ambiguousResidue(byte: s[i], position: i, descriptor: descriptor)
  }

  public static func peptideDescriptors(of sequence: UnsafeBufferPointer<UInt8>) throws(ProteinDescriptorError) -> [Double] {
    var out = [Double]()
    out.reserveCapacity(ProteinScales.peptideNames.count)
    try peptideDescriptors(of: sequence, into: &out)
    return out
  }

  public static func peptideDescriptors(of sequence: [UInt8]) throws(ProteinDescriptorError) -> [Double] {
    try withBuffer(sequence) { (s) throws(ProteinDescriptorError) in try peptideDescriptors(of: s) }
  }

  /// Tag-LLM's `<Descriptor>` label of a sequence: the first value of peptides' `descriptors()`,
  /// ``tagLLMDescriptorName`` (BLOSUM1). Same acceptance as ``peptideDescriptors(of:into:)``.
  public static func tagLLMDescriptor(of sequence: UnsafeBufferPointer<UInt8>) throws(ProteinDescriptorError) -> Double {
    var out = [Double]()
    out.reserveCapacity(1)
    try peptideDescriptors(of: sequence, rows: 1, into: &out)
    return out[0]
  }

  public static func tagLLMDescriptor(of sequence: [UInt8]) throws(ProteinDescriptorError) -> Double {
    try withBuffer(sequence) { (s) throws(ProteinDescriptorError) in try tagLLMDescriptor(of: s) }
  }
}
