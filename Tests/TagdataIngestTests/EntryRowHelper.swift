import TagdataCatalog

// Entries written from Strings, for the writer tests: the library writes entries from bytes only
// (``EntryBytes``), as ingest lays them out.

/// One UniProt entry's annotations as Strings.
struct EntryRow: Sendable {
  var accession: String
  var secondaryAccessions: [String] = []
  var entryName: String?
  var reviewed: Bool?
  var proteinName: String?
  var names: [(kind: String, value: String)] = []
  var gene: String?
  var organism: String?
  var taxonID: Int?
  var lineage: String?
  var existence: Int?
  var keywords: [String] = []
  var comments: [(topic: String, text: String)] = []
  var sequenceVersion: Int?
  var entryVersion: Int?
  var fragment = false
  var declaredMass: Int?
  /// `names` and `comments` as the catalog stores them (JSON arrays, nil when empty) and the
  /// keywords joined, when already made by ``encode()``; otherwise the writer makes them.
  private(set) var namesJSON: String?
  private(set) var commentsJSON: String?
  private(set) var keywordsText: String?
  private var encoded = false

  init(accession: String) { self.accession = accession }

  /// Makes the JSON forms of names and comments now (ingest does this on the reading thread,
  /// so that the catalog writer only binds them). Repeated (kind, value) names count once.
  mutating func encode() {
    namesJSON = TestJSONText.pairs(names.map { ($0.kind, $0.value) }, distinct: true)
    commentsJSON = TestJSONText.pairs(comments.map { ($0.topic, $0.text) }, distinct: false)
    keywordsText = TestJSONText.keywords(keywords)
    encoded = true
  }

  func encodedForms() -> (names: String?, comments: String?, keywords: String?) {
    if encoded { return (namesJSON, commentsJSON, keywordsText) }
    var copy = self
    copy.encode()
    return (copy.namesJSON, copy.commentsJSON, copy.keywordsText)
  }
}


enum TestJSONText {
  /// `[["a","b"],["c","d"]]`, or nil for no pairs.
  static func pairs(_ pairs: [(String, String)], distinct: Bool) -> String? {
    let (flat, spans) = lay(pairs.flatMap { [$0.0, $0.1] })
    var out: [UInt8] = []
    let made = flat.withUnsafeBufferPointer { f in
      JSONText.appendPairs(count: spans.count / 2, distinct: distinct, into: &out) { k in
        (UnsafeBufferPointer(rebasing: f[spans[2 * k]]), UnsafeBufferPointer(rebasing: f[spans[2 * k + 1]]))
      }
    }
    return made ? String(decoding: out, as: UTF8.self) : nil
  }

  /// `a; b; c`, or nil for no keywords.
  static func keywords(_ keywords: [String]) -> String? {
    let (flat, spans) = lay(keywords)
    var out: [UInt8] = []
    let made = flat.withUnsafeBufferPointer { f in
      JSONText.appendKeywords(count: spans.count, into: &out) { UnsafeBufferPointer(rebasing: f[spans[$0]]) }
    }
    return made ? String(decoding: out, as: UTF8.self) : nil
  }

  /// The strings' bytes one after the other, and where each lies.
  private static func lay(_ strings: [String]) -> ([UInt8], [Range<Int>]) {
    var flat: [UInt8] = []
    var spans: [Range<Int>] = []
    for s in strings {
      let start = flat.count
      flat.append(contentsOf: s.utf8)
      spans.append(start..<flat.count)
    }
    return (flat, spans)
  }
}

extension ProteinWriter {
  /// Returns the id of the entry (accession, protein), inserting or completing it.
  func entry(_ e: EntryRow, protein: Int64) throws -> Int64 {
    let encoded = e.encodedForms()
    // Lay the strings out in one buffer, then write from views of it.
    var flat: [UInt8] = []
    func put(_ s: String?) -> Range<Int>? {
      guard let s else { return nil }
      let start = flat.count
      flat.append(contentsOf: s.utf8)
      return start..<flat.count
    }
    let accessions = ([e.accession] + e.secondaryAccessions).map { put($0)! }
    let text = [e.entryName, e.proteinName, e.gene, e.organism, e.lineage, encoded.keywords, encoded.names, encoded.comments]
      .map(put)
    return try flat.withUnsafeBufferPointer { f in
      func view(_ r: Range<Int>?) -> UnsafeBufferPointer<UInt8>? { r.map { UnsafeBufferPointer(rebasing: f[$0]) } }
      var b = EntryBytes()
      (b.entryName, b.proteinName, b.gene, b.organism) = (view(text[0]), view(text[1]), view(text[2]), view(text[3]))
      (b.lineage, b.keywords, b.names, b.comments) = (view(text[4]), view(text[5]), view(text[6]), view(text[7]))
      b.reviewed = e.reviewed
      b.taxonID = e.taxonID
      b.existence = e.existence
      b.sequenceVersion = e.sequenceVersion
      b.entryVersion = e.entryVersion
      b.declaredMass = e.declaredMass
      b.fragment = e.fragment
      return try entry(b, protein: protein, accessions: accessions.count) { UnsafeBufferPointer(rebasing: f[accessions[$0]]) }
    }
  }

}
