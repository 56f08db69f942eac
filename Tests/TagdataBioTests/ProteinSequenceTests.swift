import Foundation
import Testing
@testable import TagdataBio

@Suite struct CRC64Tests {
  // Vectors from the SWISS-PROT SwissKnife documentation, UniParc and real SQ lines.
  @Test(arguments: [
    ("", "0000000000000000"),
    ("IHATEMATH", "E3DCADD69B01ADD1"),
    ("MSGGKYVDSE", "368583B2DB533878"),
    ("ACGTACGTACGT", "C4FBB762C4A87EBD"),
    ("acgtACGTacgt", "DA4509DC64A87EBD"),
    ("MTQSNPNEQNVELNRTSLYWGLLLIFVLAVLFSNYFFN", "55537AEC50D25E8D"),
    ("MALWMRLLPLLALLALWGPDPAAAFVNQHLCGSHLVEALYLVCGERGFFYTPKTRREAEDLQVGQVELGGGPGAGSLQPLALEGSLQKRGIVEQCCTSICSLYQLENYCN",
     "C2C3B23B85E520E5"),
  ])
  func knownChecksums(sequence: String, expected: String) {
    #expect(CRC64.hex(CRC64.checksum(Array(sequence.utf8))) == expected)
  }

  @Test func tableMatchesPublishedEntries() {
    #expect(CRC64.table[1] == 0x01B0_0000_0000_0000)
    #expect(CRC64.table[128] == 0xD800_0000_0000_0000)
    #expect(CRC64.table[255] == 0x9090_0000_0000_0000)
  }

  /// The eight-bytes-at-a-time checksum against the one-byte-at-a-time definition, at every
  /// length and alignment around the eight-byte steps.
  @Test func slicedChecksumMatchesTheBytewiseDefinition() {
    // A fixed seed, printed; TAGDATA_FUZZ_SEED chooses another.
    let seed = ProcessInfo.processInfo.environment["TAGDATA_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20261205
    print("slicedChecksumMatchesTheBytewiseDefinition: fuzz seed \(seed) (set TAGDATA_FUZZ_SEED to repeat or vary)")
    var rng = LocalSplitMix64(seed: seed)
    let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    for start in 0..<9 {
      for end in start..<min(bytes.count, start + 140) {
        var crc: UInt64 = 0
        for b in bytes[start..<end] { crc = (crc >> 8) ^ CRC64.table[Int((crc ^ UInt64(b)) & 0xFF)] }
        #expect(CRC64.checksum(bytes[start..<end]) == crc, "bytes \(start)..<\(end) (seed \(seed))")
      }
    }
    #expect(CRC64.hex(0x07E9_5E63_2BD0_20E9) == "07E95E632BD020E9")
    #expect(CRC64.hex(0) == "0000000000000000")
  }

  @Test func parseRoundTrips() {
    #expect(CRC64.parse("07E95E632BD020E9") == 0x07E9_5E63_2BD0_20E9)
    #expect(CRC64.parse("07E95E632BD020E") == nil)
    #expect(CRC64.parse("XYZ95E632BD020E9") == nil)
  }
}

@Suite struct CanonicalizerTests {
  func canon(_ s: String, _ policy: AmbiguityPolicy = .keep) -> Result<String, ProteinSequenceError> {
    ProteinCanonicalizer(ambiguity: policy).canonicalize(Array(s.utf8)).map { String(decoding: $0, as: UTF8.self) }
  }

  @Test func upperCasesAndStripsWhitespaceDigitsAndTerminalStop() {
    #expect(canon("  1 mkta yiak\tqr 61 ql*\n") == .success("MKTAYIAKQRQL"))
    #expect(canon("MKT*") == .success("MKT"))
    #expect(canon("uo") == .success("UO"))
  }

  @Test func rejectsBadInputWithPosition() {
    #expect(canon("") == .failure(.empty))
    #expect(canon("  12 \n") == .failure(.empty))
    #expect(canon("*") == .failure(.empty))
    #expect(canon("MK-TA") == .failure(.invalidCharacter(byte: UInt8(ascii: "-"), position: 2)))
    #expect(canon("MK*TA") == .failure(.internalStop(position: 2)))
    #expect(canon("MK**") == .failure(.internalStop(position: 2)))
    #expect(canon("MKÄ") == .failure(.invalidCharacter(byte: 0xC3, position: 2)))
    #expect(canon("MK1.2") == .failure(.invalidCharacter(byte: UInt8(ascii: "."), position: 3)))
  }

  @Test func ambiguityPolicies() {
    #expect(canon("MBZJX", .keep) == .success("MBZJX"))
    #expect(canon("mbzjx", .map) == .success("MXXXX"))
    #expect(canon("MKBA", .reject) == .failure(.ambiguousResidue(byte: UInt8(ascii: "B"), position: 2)))
    #expect(canon("MKxA", .reject) == .failure(.ambiguousResidue(byte: UInt8(ascii: "x"), position: 2)))
  }

  @Test func errorsReadWell() {
    #expect("\(ProteinSequenceError.invalidCharacter(byte: UInt8(ascii: "-"), position: 2))" == "invalid character '-' at position 3")
    #expect("\(ProteinSequenceError.invalidCharacter(byte: 0xC3, position: 0))" == "invalid character byte 0xC3 at position 1")
  }

  @Test func sha256OfCanonicalSequence() {
    // echo -n MKT | sha256sum
    #expect(SequenceDigest.hex(SequenceDigest.sha256(Array("MKT".utf8)))
      == "366893d2245f5f241af2eeba0a8c19ef3bf362141a7c8504d7479ce7e7f2fb66")
  }
}

/// SplitMix64, kept here because this test target depends on TagdataBio alone (the shared one is
/// in TagdataIO).
struct LocalSplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
