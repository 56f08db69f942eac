/// Text rules shared by the UniProt flat-file and XML readers, so both produce the same strings.
enum UniProtText {
  /// Comment topics whose content is free text in both the flat file and XML. Structured topics
  /// (ALTERNATIVE PRODUCTS, INTERACTION, SUBCELLULAR LOCATION, SEQUENCE CAUTION, ...) are
  /// rendered differently by the two formats and are not kept as text.
  static let freeTextTopics: Set<String> = [
    "FUNCTION", "SUBUNIT", "TISSUE SPECIFICITY", "DEVELOPMENTAL STAGE", "INDUCTION", "DOMAIN",
    "PTM", "SIMILARITY", "MISCELLANEOUS", "CAUTION", "POLYMORPHISM", "PATHWAY",
    "ENZYME REGULATION", "ACTIVITY REGULATION", "BIOTECHNOLOGY", "PHARMACEUTICAL", "ALLERGEN",
    "TOXIC DOSE", "DISRUPTION PHENOTYPE",
  ]

  static let freeTextTopicBytes: [[UInt8]] = freeTextTopics.map { Array($0.utf8) }

  /// ``freeTextTopics`` membership for a topic still in bytes.
  static func isFreeTextTopic(_ topic: UnsafeBufferPointer<UInt8>) -> Bool {
    for t in freeTextTopicBytes where t.count == topic.count && t.elementsEqual(topic) { return true }
    return false
  }

  /// Appends one continuation line to accumulated free text, following UniProt's joining rule:
  /// a line ending in a hyphen that is not preceded by a blank joins the next line directly,
  /// unless the next line starts with "and " or "or "; everything else joins with one blank.
  static func join(_ text: inout [UInt8], _ next: UnsafeBufferPointer<UInt8>) { join(&text, from: 0, next) }

  /// ``join(_:_:)`` for text that is the tail of `buffer`, from `start` on.
  static func join(_ buffer: inout [UInt8], from start: Int, _ next: UnsafeBufferPointer<UInt8>) {
    var s = 0
    var e = next.count
    while s < e && next[s] == 0x20 { s += 1 }
    while e > s && next[e - 1] == 0x20 { e -= 1 }
    if s == e { return }
    let piece = UnsafeBufferPointer(rebasing: next[s..<e])
    if buffer.count == start {
      buffer.append(contentsOf: piece)
      return
    }
    let n = buffer.count - start
    let hyphenJoin = buffer[start + n - 1] == UInt8(ascii: "-") && n >= 2 && buffer[start + n - 2] != 0x20
      && !startsWith(piece, "and ") && !startsWith(piece, "or ")
    if !hyphenJoin { buffer.append(0x20) }
    buffer.append(contentsOf: piece)
  }

  static func startsWith(_ b: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
    let n = prefix.utf8CodeUnitCount
    guard b.count >= n else { return false }
    let p = prefix.utf8Start
    for i in 0..<n where b[i] != p[i] { return false }
    return true
  }

  /// Removes evidence blocks `{ECO:...}` and collapses runs of blanks; trims the ends.
  /// "text. {ECO:...}." keeps one full stop, and no blank is left before `.`, `;` or `,`.
  static func clean(_ s: String) -> String {
    var s = s
    return s.withUTF8 { clean(bytes: $0) }
  }

  static func clean(bytes: UnsafeBufferPointer<UInt8>) -> String {
    if isClean(bytes) { return String(decoding: bytes, as: UTF8.self) }
    var out = [UInt8]()
    out.reserveCapacity(bytes.count)
    clean(bytes, into: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// True when ``clean(bytes:)`` would return the text unchanged.
  @inline(__always)
  static func isClean(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var previousBlank = true
    for b in bytes {
      let blank = b == 0x20
      if b == UInt8(ascii: "{") || b == 0x0A || b == 0x09 || b == 0x0D || (blank && previousBlank)
        || (previousBlank && (b == UInt8(ascii: ".") || b == UInt8(ascii: ";") || b == UInt8(ascii: ",")))
      {
        return false
      }
      previousBlank = blank
    }
    return !previousBlank || bytes.isEmpty
  }

  /// Bytes that ``clean(_:into:)`` treats specially: braces, blanks and line ends, `.;,`.
  nonisolated(unsafe) static let cleanSpecial: UnsafePointer<Bool> = {
    let table = UnsafeMutablePointer<Bool>.allocate(capacity: 256)
    let special = [UInt8]("{} \n\t\r.;,".utf8)
    for b in 0..<256 { table[b] = special.contains(UInt8(b)) }
    return UnsafePointer(table)
  }()

  /// Appends the cleaned text to `out` (which the caller has emptied or not).
  static func clean(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
    // The cleaned text is never longer than the input (a blank is written only in place of
    // blanks read): clean into scratch space of the input's size, then append what was written.
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count) { scratch in
      let written = clean(source, bytes.count, into: scratch.baseAddress!)
      out.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<written]))
    }
  }

  /// ``clean(_:into:)`` from `n` bytes at `src` to `dst`; returns the bytes written.
  private static func clean(_ src: UnsafePointer<UInt8>, _ n: Int, into dst: UnsafeMutablePointer<UInt8>) -> Int {
    let special = cleanSpecial
    var r = 0
    var w = 0
    var afterEvidence = false
    var pendingBlank = false
    while r < n {
      // Ordinary bytes with nothing pending: copy in a tight loop.
      if !pendingBlank && !afterEvidence {
        while r < n && !special[Int(src[r])] {
          dst[w] = src[r]
          w += 1
          r += 1
        }
        if r == n { break }
      }
      let b = src[r]
      r += 1
      if b == UInt8(ascii: "{") {
        // An evidence block, nested braces included: skip it whole.
        var depth = 1
        while r < n && depth > 0 {
          let c = src[r]
          r += 1
          if c == UInt8(ascii: "{") { depth += 1 } else if c == UInt8(ascii: "}") { depth -= 1 }
        }
        afterEvidence = depth == 0
        continue
      }
      if b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D {
        if w > 0 { pendingBlank = true }
        continue
      }
      let punctuation = b == UInt8(ascii: ".") || b == UInt8(ascii: ";") || b == UInt8(ascii: ",")
      if afterEvidence {
        afterEvidence = false
        // "text. {ECO:...}." ends the sentence once, not twice.
        if b == UInt8(ascii: "."), w > 0, dst[w - 1] == UInt8(ascii: ".") {
          pendingBlank = false
          continue
        }
      }
      if pendingBlank && !punctuation {
        dst[w] = 0x20
        w += 1
      }
      pendingBlank = false
      dst[w] = b
      w += 1
    }
    return w
  }

  /// Organism as the OS line prints it, from the XML name parts.
  static func organism(scientific: String?, common: String?, synonyms: [String]) -> String? {
    guard let scientific else { return nil }
    var s = scientific
    if let common { s += " (\(common))" }
    for syn in synonyms { s += " (\(syn))" }
    return s
  }

  /// Protein existence level from the XML `type` text or the flat-file PE line text.
  static func existenceLevel(_ text: String) -> Int? {
    switch text.lowercased() {
    case "evidence at protein level": return 1
    case "evidence at transcript level": return 2
    case "inferred from homology": return 3
    case "predicted": return 4
    case "uncertain": return 5
    default: return nil
    }
  }
}
