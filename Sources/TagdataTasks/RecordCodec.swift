import TagdataIO

/// The compact form in which a build sorts its records, and the writer of their JSON lines.
///
/// A record's JSON repeats its long strings: a protein sequence is in the formulation, in its
/// segment and in the inputs, and the same sequence is in thousands of records. Sorting the JSON
/// would spill all of that to disk and read it back. The sort instead holds a compact record: each
/// string once, as its bytes, as a reference to an earlier segment of the same record, or as the
/// number of a string kept in a ``RecordStrings`` table (shared by all records of a build, bounded
/// in size); the JSON line is written from it when the shard is written
/// (``render(_:split:strings:to:)``), the same bytes as ``ShardExport/recordJSON(_:)``.
enum RecordCodec {
  // Flags of the record.
  static let regressionFlag: UInt8 = 1
  static let outputFlag: UInt8 = 2
  static let targetFlag: UInt8 = 4
  static let sourceFlag: UInt8 = 8
  static let rowFlag: UInt8 = 16
  static let yearFlag: UInt8 = 32

  static func code(_ kind: TagLLM.Segment.Kind) -> UInt8 {
    switch kind {
    case .text: 0
    case .smiles: 1
    case .protein: 2
    case .tag: 3
    case .label: 4
    }
  }

  /// Appends the compact record of `e` to `out`; `keyHash` is `StableHash.hash([task, key])`.
  /// Long strings go into `strings` when it has room (nil: every string is written out).
  static func encode(_ e: TaskExample, keyHash: UInt64, strings: RecordStrings?, to out: inout [UInt8]) {
    var flags: UInt8 = e.regression ? regressionFlag : 0
    if e.output != nil { flags |= outputFlag }
    if e.target != nil { flags |= targetFlag }
    if e.source != nil { flags |= sourceFlag }
    if e.row != nil { flags |= rowFlag }
    if e.year != nil { flags |= yearFlag }
    out.append(flags)
    varint(UInt64(bitPattern: Int64(e.stage)), &out)
    withUnsafeBytes(of: keyHash.littleEndian) { out.append(contentsOf: $0) }
    string(e.task, strings: strings, segments: nil, &out)
    // Arrays are read in place, element by element: copying an element would retain its string,
    // a count that the thread which made the example also changes.
    e.segments.withUnsafeBufferPointer { segments in
      varint(UInt64(segments.count), &out)
      for k in segments.indices {
        out.append(code(segments[k].kind))
        string(segments[k].text, strings: strings, segments: nil, &out)
      }
      e.inputs.withUnsafeBufferPointer { inputs in
        varint(UInt64(inputs.count), &out)
        for k in inputs.indices { string(inputs[k], strings: strings, segments: segments, &out) }
      }
      if let o = e.output { string(o, strings: strings, segments: segments, &out) }
      if let t = e.target { withUnsafeBytes(of: t.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
      e.molecules.withUnsafeBufferPointer { molecules in
        varint(UInt64(molecules.count), &out)
        for k in molecules.indices { string(molecules[k], strings: strings, segments: segments, &out) }
      }
    }
    e.proteins.withUnsafeBufferPointer { proteins in
      varint(UInt64(proteins.count), &out)
      for k in proteins.indices { string(proteins[k], strings: strings, segments: nil, &out) }
    }
    if let s = e.source { string(s, strings: strings, segments: nil, &out) }
    if let r = e.row { varint(zigzag(r), &out) }
    if let y = e.year { varint(zigzag(y), &out) }
  }

  /// A string: `(length << 2) | 0` and its bytes; `(number << 2) | 1`, a string of the table;
  /// `(k << 2) | 2`, the text of the record's segment k.
  static func string(_ s: String, strings: RecordStrings?, segments: UnsafeBufferPointer<TagLLM.Segment>?,
                     _ out: inout [UInt8])
  {
    let n = s.utf8.count
    if let segments, n >= 8 {
      for k in segments.indices
      where segments[k].kind != .text && segments[k].kind != .tag && segments[k].text.utf8.count == n
        && segments[k].text == s
      {
        varint(UInt64(k) << 2 | 2, &out)
        return
      }
    }
    if let strings, n >= RecordStrings.minimumLength, let id = strings.number(s) {
      varint(UInt64(id) << 2 | 1, &out)
      return
    }
    varint(UInt64(n) << 2, &out)
    out.append(contentsOf: s.utf8)
  }

  @inline(__always) static func varint(_ x: UInt64, _ out: inout [UInt8]) {
    var x = x
    while x >= 0x80 {
      out.append(UInt8(truncatingIfNeeded: x) | 0x80)
      x >>= 7
    }
    out.append(UInt8(x))
  }

  static func zigzag(_ x: Int) -> UInt64 { UInt64(bitPattern: Int64(x << 1) ^ Int64(x >> 63)) }
  static func unzigzag(_ x: UInt64) -> Int { Int(Int64(bitPattern: x >> 1) ^ -Int64(bitPattern: x & 1)) }

  /// Reads a compact record.
  struct Reader {
    let b: UnsafeRawBufferPointer
    let strings: RecordStrings.View?
    var at = 0
    /// The record's segments so far, for references (storage of the caller's).
    var segments: UnsafeMutableBufferPointer<(bytes: UnsafeRawBufferPointer, plain: Bool)>

    init(_ b: UnsafeRawBufferPointer, strings: RecordStrings.View?,
         segments: UnsafeMutableBufferPointer<(bytes: UnsafeRawBufferPointer, plain: Bool)>)
    {
      self.b = b
      self.strings = strings
      self.segments = segments
    }

    mutating func byte() -> UInt8 {
      defer { at += 1 }
      return b[at]
    }

    mutating func varint() -> UInt64 {
      var x: UInt64 = 0
      var shift: UInt64 = 0
      while true {
        let c = b[at]
        at += 1
        x |= UInt64(c & 0x7F) << shift
        if c < 0x80 { return x }
        shift += 7
      }
    }

    mutating func u64() -> UInt64 {
      defer { at += 8 }
      return UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    /// A string's bytes, and whether they are known to need no JSON escape.
    mutating func string() -> (bytes: UnsafeRawBufferPointer, plain: Bool) {
      let x = varint()
      switch x & 3 {
      case 0:
        let n = Int(x >> 2)
        defer { at += n }
        return (UnsafeRawBufferPointer(rebasing: b[at..<(at + n)]), false)
      case 1: return strings!.text(Int(x >> 2))
      default: return segments[Int(x >> 2)]
      }
    }
  }

  /// Appends the JSON line (newline included) of a compact record to `out`, keys in the order of
  /// Schemas/task-record.schema.json; `split` is the record's split.
  static func render(_ record: UnsafeRawBufferPointer, split: UnsafeRawBufferPointer, strings: RecordStrings.View?,
                     to out: inout [UInt8])
  {
    // The segments and their kinds, on the stack: a record has a dozen or so. Reading the record
    // takes no lock, allocates nothing and changes no reference count (two threads render at once).
    var r = Reader(record, strings: strings, segments: UnsafeMutableBufferPointer(start: nil, count: 0))
    let head = (flags: r.byte(), stage: Int(Int64(bitPattern: r.varint())), keyHash: r.u64(), task: r.string())
    let count = Int(r.varint())
    withUnsafeTemporaryAllocation(of: (bytes: UnsafeRawBufferPointer, plain: Bool).self, capacity: count) { segments in
      withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { kinds in
        r.segments = segments
        render(&r, head: head, count: count, split: split, kinds: kinds, to: &out)
      }
    }
  }

  /// The rest of ``render(_:split:strings:to:)``: `r` stands at the record's segments, after its
  /// head and their count.
  private static func render(_ r: inout Reader,
                             head: (flags: UInt8, stage: Int, keyHash: UInt64,
                                    task: (bytes: UnsafeRawBufferPointer, plain: Bool)),
                             count: Int, split: UnsafeRawBufferPointer, kinds: UnsafeMutableBufferPointer<UInt8>,
                             to out: inout [UInt8])
  {
    func raw(_ s: StaticString) { s.withUTF8Buffer { out.append(contentsOf: $0) } }
    func str(_ b: UnsafeRawBufferPointer) { JSONString.append(b, to: &out) }
    func str(_ t: (bytes: UnsafeRawBufferPointer, plain: Bool)) {
      if t.plain {
        out.append(0x22)
        out.append(contentsOf: t.bytes)
        out.append(0x22)
      } else {
        JSONString.append(t.bytes, to: &out)
      }
    }
    func number(_ x: Int) { out.append(contentsOf: String(x).utf8) }
    /// A list of strings: its count, then each string, written comma-separated.
    func list() {
      for k in 0..<Int(r.varint()) {
        if k > 0 { raw(",") }
        str(r.string())
      }
    }
    let (flags, keyHash) = (head.flags, head.keyHash)
    raw("{\"task\":")
    str(head.task)
    raw(",\"stage\":")
    number(head.stage)
    raw(",\"split\":")
    str(split)
    flags & regressionFlag != 0 ? raw(",\"regression\":true") : raw(",\"regression\":false")
    for k in 0..<count {
      kinds[k] = r.byte()
      // A segment refers only to those before it.
      r.segments[k] = r.string()
    }
    raw(",\"formulation\":\"")
    for k in 0..<count {
      let seg = r.segments[k]
      if seg.plain { out.append(contentsOf: seg.bytes) } else { JSONString.appendEscaped(seg.bytes, to: &out) }
    }
    raw("\",\"segments\":[")
    for k in 0..<count {
      if k > 0 { raw(",") }
      raw("{\"kind\":\"")
      // The kind's name by its code (``code(_:)``), as static strings: a global array read on
      // two threads at once would have its reference count changed by both.
      switch kinds[k] {
      case 0: raw("text")
      case 1: raw("smiles")
      case 2: raw("protein")
      case 3: raw("tag")
      default: raw("label")
      }
      raw("\",\"text\":")
      str(r.segments[k])
      raw("}")
    }
    raw("],\"inputs\":[")
    list()
    raw("],\"output\":")
    if flags & outputFlag != 0 { str(r.string()) } else { raw("null") }
    raw(",\"target\":")
    if flags & targetFlag != 0 {
      let t = Double(bitPattern: r.u64())
      if t.isFinite { TagLLM.appendPythonRepr(t, to: &out) } else { raw("null") }
    } else {
      raw("null")
    }
    raw(",\"key\":\"")
    ShardExport.appendHex16(keyHash, to: &out)
    raw("\",\"ids\":{\"molecules\":[")
    list()
    raw("],\"proteins\":[")
    list()
    raw("],\"source\":")
    if flags & sourceFlag != 0 { str(r.string()) } else { raw("null") }
    raw(",\"row\":")
    if flags & rowFlag != 0 { number(unzigzag(r.varint())) } else { raw("null") }
    raw(",\"year\":")
    if flags & yearFlag != 0 { number(unzigzag(r.varint())) } else { raw("null") }
    raw("}}\n")
  }
}

/// Long strings that many records share (a protein sequence, a SMILES, a template's text), kept
/// once for the sort's compact records (``RecordCodec``). Bounded: once it holds `budget` bytes
/// (its strings and their index), further strings are written into the records themselves.
/// Filled by one thread, read after it has finished.
final class RecordStrings: @unchecked Sendable {
  /// Shorter strings are written out: a reference would save little.
  static let minimumLength = 16
  let budget: Int
  // One thread fills the table, then others only read it: no access needs checking at run time.
  @exclusivity(unchecked) private var numbers: [String: Int32] = [:]
  @exclusivity(unchecked) private var arena: UnsafeMutableRawPointer
  @exclusivity(unchecked) private var arenaCapacity: Int
  /// Where each string starts in the arena, and where the last ends (`count + 1` entries); per
  /// string, whether its JSON literal is its bytes as they are (nothing to escape). Buffers of
  /// their own rather than arrays, so that readers (``View``) touch no reference count.
  @exclusivity(unchecked) private var starts: UnsafeMutablePointer<Int>
  @exclusivity(unchecked) private var plain: UnsafeMutablePointer<Bool>
  @exclusivity(unchecked) private var capacity = 1024
  @exclusivity(unchecked) private(set) var count = 0
  @exclusivity(unchecked) private var used = 0

  init(budget: Int) {
    self.budget = max(0, budget)
    arenaCapacity = 1 << 16
    arena = .allocate(byteCount: arenaCapacity, alignment: 16)
    starts = .allocate(capacity: capacity + 1)
    starts[0] = 0
    plain = .allocate(capacity: capacity)
  }

  deinit {
    arena.deallocate()
    starts.deallocate()
    plain.deallocate()
  }

  /// The table as it is, for threads that only read it once it is filled; valid while the table
  /// lives and takes no new string.
  struct View: @unchecked Sendable {
    let arena: UnsafeRawPointer
    let starts: UnsafePointer<Int>
    let plain: UnsafePointer<Bool>
    /// The bytes of string `id`, and whether they need no JSON escape.
    func text(_ id: Int) -> (bytes: UnsafeRawBufferPointer, plain: Bool) {
      (UnsafeRawBufferPointer(start: arena + starts[id], count: starts[id + 1] - starts[id]), plain[id])
    }
  }

  var view: View { View(arena: UnsafeRawPointer(arena), starts: UnsafePointer(starts), plain: UnsafePointer(plain)) }

  /// The numbers of the strings asked for lately, by address: a string that the caller keeps
  /// handing over (one protein's sequence, row after row) is found without hashing it. Direct-
  /// mapped: slots for three times a catalog's usual count of distinct long SMILES, so that few
  /// evict each other.
  @exclusivity(unchecked) private var recent = AddressMemo<Int32>(capacity: 1 << 17, minimumLength: minimumLength)

  /// The number of `s`, kept now if it is new and there is room; nil when the table is full.
  func number(_ s: String) -> Int32? {
    let place = recent.place(s)
    if let place, let id = recent.value(s, at: place) { return id }
    guard let id = lookUp(s) else { return nil }
    if let place { recent.insert(s, id, at: place) }
    return id
  }

  private func lookUp(_ s: String) -> Int32? {
    if let id = numbers[s] { return id }
    let n = s.utf8.count
    // An entry costs its bytes, its start and about 64 bytes of the dictionary and its key.
    guard used + n + 80 <= budget, count < Int(Int32.max) - 1 else { return nil }
    let end = starts[count]
    if end + n > arenaCapacity {
      var capacity = arenaCapacity
      while end + n > capacity { capacity *= 2 }
      let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
      bigger.copyMemory(from: arena, byteCount: end)
      arena.deallocate()
      arena = bigger
      arenaCapacity = capacity
    }
    var s = s
    var clean = true
    s.withUTF8 { b in
      if let base = b.baseAddress { (arena + end).copyMemory(from: base, byteCount: n) }
      clean = !b.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
    }
    if count == capacity {
      let bigger = capacity * 2
      let newStarts = UnsafeMutablePointer<Int>.allocate(capacity: bigger + 1)
      newStarts.update(from: starts, count: count + 1)
      starts.deallocate()
      starts = newStarts
      let newPlain = UnsafeMutablePointer<Bool>.allocate(capacity: bigger)
      newPlain.update(from: plain, count: count)
      plain.deallocate()
      plain = newPlain
      capacity = bigger
    }
    plain[count] = clean
    let id = Int32(count)
    starts[count + 1] = end + n
    count += 1
    numbers[s] = id
    used += n + 80
    return id
  }

  /// The bytes of string `id`, and whether they need no JSON escape.
  func text(_ id: Int) -> (bytes: UnsafeRawBufferPointer, plain: Bool) { view.text(id) }
}
