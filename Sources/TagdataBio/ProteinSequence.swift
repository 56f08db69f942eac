import Crypto

/// What to do with the IUPAC ambiguity codes B (D or N), Z (E or Q), J (I or L) and X (any).
public enum AmbiguityPolicy: String, Sendable, CaseIterable {
  /// Keep them as they are (the default: UniProt itself uses them).
  case keep
  /// Reject a sequence that contains any of them.
  case reject
  /// Replace B, Z and J by X, so that every ambiguous position reads the same.
  case map
}

/// Why a sequence has no canonical form.
public enum ProteinSequenceError: Error, Equatable, Sendable, CustomStringConvertible {
  case empty
  /// A byte that is not a residue letter. `position` is 0-based in the raw input.
  case invalidCharacter(byte: UInt8, position: Int)
  /// `*` (a stop) before the end of the sequence.
  case internalStop(position: Int)
  /// An ambiguity code under ``AmbiguityPolicy/reject``.
  case ambiguousResidue(byte: UInt8, position: Int)

  public var description: String {
    switch self {
    case .empty: return "empty sequence"
    case let .invalidCharacter(b, p): return "invalid character \(Self.show(b)) at position \(p + 1)"
    case let .internalStop(p): return "stop '*' inside the sequence at position \(p + 1)"
    case let .ambiguousResidue(b, p): return "ambiguity code \(Self.show(b)) at position \(p + 1) (policy: reject)"
    }
  }

  static func show(_ b: UInt8) -> String {
    (0x21..<0x7f).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16, uppercase: true))"
  }
}

/// Canonical protein sequences.
///
/// The canonical form is upper case, with whitespace and digits (position numbers in pasted
/// GenBank or flat-file text) removed and a single terminal `*` dropped. The alphabet is the 20
/// standard residues, U (selenocysteine), O (pyrrolysine), and the ambiguity codes B, Z, J, X,
/// which the ``AmbiguityPolicy`` keeps, rejects or maps to X. Anything else (gaps `-` or `.`,
/// punctuation, bytes outside ASCII) is an error that names the first bad position.
///
/// Works on bytes with a 256-entry class table: one pass, no `String` involved.
public struct ProteinCanonicalizer: Sendable {
  public var ambiguity: AmbiguityPolicy

  public init(ambiguity: AmbiguityPolicy = .keep) { self.ambiguity = ambiguity }

  // Byte classes.
  static let skip: UInt8 = 0
  static let residue: UInt8 = 1
  static let ambiguous: UInt8 = 2
  static let stop: UInt8 = 3
  static let invalid: UInt8 = 4

  static let classes: [UInt8] = {
    var t = [UInt8](repeating: invalid, count: 256)
    for b in [UInt8](" \t\n\r\u{0B}\u{0C}0123456789".utf8) { t[Int(b)] = skip }
    for b in [UInt8]("ACDEFGHIKLMNPQRSTVWYUO".utf8) { t[Int(b)] = residue; t[Int(b) + 32] = residue }
    for b in [UInt8]("BZJX".utf8) { t[Int(b)] = ambiguous; t[Int(b) + 32] = ambiguous }
    t[Int(UInt8(ascii: "*"))] = stop
    return t
  }()

  /// The canonical form of `raw`, or the reason it has none.
  public func canonicalize(_ raw: UnsafeBufferPointer<UInt8>) -> Result<[UInt8], ProteinSequenceError> {
    var out = [UInt8]()
    out.reserveCapacity(raw.count)
    if let error = canonicalize(raw, appendingTo: &out) { return .failure(error) }
    return .success(out)
  }

  /// Appends the canonical form of `raw` to `out` and returns nil, or returns the reason it has
  /// none (`out` may then hold part of it).
  public func canonicalize(_ raw: UnsafeBufferPointer<UInt8>, appendingTo out: inout [UInt8]) -> ProteinSequenceError? {
    // The canonical form is never longer than the input: make room, write in place, trim.
    let base = out.count
    out.append(contentsOf: raw)
    var failure: ProteinSequenceError?
    let end = out.withUnsafeMutableBufferPointer { o -> Int in
      var w = base
      var stopAt = -1
      let classes = Self.classes
      let ambiguity = self.ambiguity
      return classes.withUnsafeBufferPointer { classes in
        for i in 0..<raw.count {
          let b = raw[i]
          let c = classes[Int(b)]
          if c == Self.residue || c == Self.ambiguous {
            if stopAt >= 0 {
              failure = .internalStop(position: stopAt)
              return w
            }
            if c == Self.residue || ambiguity == .keep {
              o[w] = b & 0xDF
            } else if ambiguity == .map {
              o[w] = UInt8(ascii: "X")
            } else {
              failure = .ambiguousResidue(byte: b, position: i)
              return w
            }
            w += 1
          } else if c == Self.skip {
            continue
          } else if c == Self.stop {
            if stopAt >= 0 {
              failure = .internalStop(position: stopAt)
              return w
            }
            stopAt = i
          } else {
            failure = .invalidCharacter(byte: b, position: i)
            return w
          }
        }
        return w
      }
    }
    out.removeSubrange(end...)
    if let failure { return failure }
    return end == base ? .empty : nil
  }

  /// Convenience for arrays and strings.
  public func canonicalize<C: Collection>(_ raw: C) -> Result<[UInt8], ProteinSequenceError> where C.Element == UInt8 {
    if let r = raw.withContiguousStorageIfAvailable({ canonicalize($0) }) { return r }
    return Array(raw).withUnsafeBufferPointer { canonicalize($0) }
  }
}

/// UniProt's CRC64 (SWISS-PROT/ISO 3309 polynomial, reflected, initial value 0, no final XOR),
/// as printed on SQ lines and in the XML `checksum` attribute.
public enum CRC64 {
  static let table: [UInt64] = (0..<256).map { i -> UInt64 in
    var k = UInt64(i)
    for _ in 0..<8 { k = (k & 1) != 0 ? (k >> 1) ^ 0xD800_0000_0000_0000 : k >> 1 }
    return k
  }

  /// Eight tables for slicing by eight: `sliced[k * 256 + b]` is the CRC of byte `b` followed
  /// by `k` zero bytes, so eight input bytes cost eight independent look-ups instead of a chain
  /// of eight dependent ones.
  static let sliced: [UInt64] = {
    var t = table + [UInt64](repeating: 0, count: 7 * 256)
    for k in 1..<8 {
      for b in 0..<256 {
        let previous = t[(k - 1) * 256 + b]
        t[k * 256 + b] = (previous >> 8) ^ table[Int(previous & 0xFF)]
      }
    }
    return t
  }()

  /// The checksum of `bytes` as stored (case matters).
  public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var crc: UInt64 = 0
    guard let base = bytes.baseAddress else { return 0 }
    let n = bytes.count
    sliced.withUnsafeBufferPointer { t in
      var i = 0
      while i + 8 <= n {
        let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
        let x = crc ^ word
        crc = t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
          ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int((x >> 24) & 0xFF)]
          ^ t[3 * 256 + Int((x >> 32) & 0xFF)] ^ t[2 * 256 + Int((x >> 40) & 0xFF)]
          ^ t[256 + Int((x >> 48) & 0xFF)] ^ t[Int(x >> 56)]
        i += 8
      }
      while i < n {
        crc = (crc >> 8) ^ t[Int((crc ^ UInt64(base[i])) & 0xFF)]
        i += 1
      }
    }
    return crc
  }

  public static func checksum<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    if let r = bytes.withContiguousStorageIfAvailable({ checksum($0) }) { return r }
    return Array(bytes).withUnsafeBufferPointer { checksum($0) }
  }

  /// 16 upper-case hex digits, zero-padded, as UniProt prints it.
  public static func hex(_ value: UInt64) -> String {
    var out: [UInt8] = []
    appendHex(value, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// Appends ``hex(_:)``'s text as bytes.
  public static func appendHex(_ value: UInt64, to out: inout [UInt8]) {
    for shift in stride(from: 60, through: 0, by: -4) {
      let d = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 15
      out.append(d < 10 ? 0x30 + d : 0x37 + d)
    }
  }

  /// Parses 16 hex digits (either case).
  public static func parse<S: StringProtocol>(_ text: S) -> UInt64? {
    guard text.count == 16 else { return nil }
    return UInt64(text, radix: 16)
  }
}

/// The content hash that keys a protein in the catalog: SHA-256 of the canonical sequence bytes.
public enum SequenceDigest {
  public static func sha256<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
    if let d = bytes.withContiguousStorageIfAvailable({ Array(SHA256.hash(data: UnsafeRawBufferPointer($0))) }) {
      return d
    }
    return Array(SHA256.hash(data: Array(bytes)))
  }

  /// Appends the 32-byte digest of `bytes` to `out`.
  public static func sha256(_ bytes: UnsafeBufferPointer<UInt8>, appendingTo out: inout [UInt8]) {
    SHA256.hash(data: UnsafeRawBufferPointer(bytes)).withUnsafeBytes { out.append(contentsOf: $0) }
  }

  public static func hex(_ digest: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(digest.count * 2)
    for b in digest {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}

/// Incremental SHA-256 for whole streams (source content identity).
public struct StreamDigest {
  private var hasher = SHA256()
  public init() {}
  public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
  public func finalize() -> [UInt8] { Array(hasher.finalize()) }
}
