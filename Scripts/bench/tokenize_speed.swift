// The tagdata side of Scripts/bench-tokenize: tokens per second of TagdataTokenizer on one thread.
//
// usage: tokenize-speed KIND RECORDS TOKENIZER [REPETITIONS]
//   KIND text or text-llama3 (TOKENIZER a tokenizer.json, HFTokenizer), smiles (TOKENIZER a {"token": id} vocabulary,
//   SmilesTokenizer) or protein (the same, ResidueTokenizer). RECORDS: one record a line, all read
//   into memory first. Encodes every record REPETITIONS times (default 5) after one warm-up pass
//   and prints one JSON line per mode: {"tool", "kind", "mode", "records", "bytes", "tokens",
//   "cpu_seconds": [...], "wall_seconds": [...], "checksum"} (the checksum of
//   Scripts/bench/tokenize_reference.py, over the ids of the warm-up pass).
//
// Built by Scripts/bench-tokenize with swiftc against the release build's TagdataTokenizer (the
// tagdata executable does not depend on that module).
import Foundation
import TagdataTokenizer

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("tokenize-speed: \(message)\n".utf8))
  exit(1)
}

let args = CommandLine.arguments
guard args.count >= 4, ["text", "text-llama3", "smiles", "protein"].contains(args[1]) else {
  fail("usage: tokenize-speed text|text-llama3|smiles|protein RECORDS TOKENIZER [REPETITIONS]")
}
let kind = args[1]
let repetitions = args.count > 4 ? Int(args[4]) ?? 5 : 5
guard let data = FileManager.default.contents(atPath: args[2]) else { fail("cannot read \(args[2])") }
let bytes = [UInt8](data)
var ranges: [Range<Int>] = []
var start = 0
for (k, b) in bytes.enumerated() where b == 0x0A {
  ranges.append(start..<k)
  start = k + 1
}
if start < bytes.count { ranges.append(start..<bytes.count) }
let strings = ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
let size = ranges.reduce(0) { $0 + $1.count }

/// The checksum of tokenize_reference.py.
struct Checksum {
  var sum: UInt64 = 0
  var k: UInt64 = 0
  mutating func add(_ v: UInt64) {
    var w = k &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019
    w ^= w >> 29
    sum &+= v &* w
    k += 1
  }
  mutating func record(_ ids: some Sequence<Int>) {
    for id in ids { add(UInt64(id) &+ 1) }
    add(1 << 31)
  }
  var hex: String {
    let s = String(sum, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
  }
}

func cpuSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func wallSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Runs `pass` (which encodes every record and gives the number of tokens, and the checksum of the
/// ids when asked) once to warm up, then `repetitions` times without the checksum, timed, and prints
/// the JSON line of `mode`.
func measure(_ mode: String, _ pass: (Bool) -> (Checksum, Int)) {
  let (check, _) = pass(true)
  var tokens = 0
  var cpu: [Double] = [], wall: [Double] = []
  for _ in 0..<repetitions {
    let (c0, w0) = (cpuSeconds(), wallSeconds())
    (_, tokens) = pass(false)
    let (c1, w1) = (cpuSeconds(), wallSeconds())
    cpu.append(c1 - c0)
    wall.append(w1 - w0)
  }
  let line: [String: Any] = [
    "tool": "tagdata", "kind": kind, "mode": mode, "records": ranges.count, "bytes": size, "tokens": tokens,
    "cpu_seconds": cpu, "wall_seconds": wall, "checksum": check.hex,
  ]
  let json = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
  print(String(decoding: json, as: UTF8.self))
  fflush(stdout)
}

/// A {"token": id} vocabulary.
func vocabulary(_ path: String) -> [String: Int] {
  guard let d = FileManager.default.contents(atPath: path),
        let v = try? JSONSerialization.jsonObject(with: d) as? [String: Int] else { fail("\(path): not a {\"token\": id} object") }
  return v
}

switch kind {
case "text", "text-llama3":
  let tokenizer: HFTokenizer
  do { tokenizer = try HFTokenizer(contentsOf: URL(fileURLWithPath: args[3])) } catch { fail("\(error)") }
  measure("encode(String)") { sum in
    var check = Checksum(), tokens = 0
    for s in strings {
      let ids = tokenizer.encode(s)
      tokens += ids.count
      if sum { check.record(ids) }
    }
    return (check, tokens)
  }
  measure("encode(bytes:into:)") { sum in
    var check = Checksum(), tokens = 0
    var ids: [Int] = []
    bytes.withUnsafeBufferPointer { all in
      for r in ranges {
        ids.removeAll(keepingCapacity: true)
        tokenizer.encode(bytes: UnsafeBufferPointer(rebasing: all[r]), into: &ids)
        tokens += ids.count
        if sum { check.record(ids) }
      }
    }
    return (check, tokens)
  }
default:
  let vocab = vocabulary(args[3])
  guard let unknown = vocab["[UNK]"] else { fail("\(args[3]): no [UNK]") }
  let domain = DomainVocabulary(vocab, unknownID: unknown)
  let smiles = kind == "smiles"
  measure("encode(_:vocabulary:into:)") { sum in
    var check = Checksum(), tokens = 0
    var ids: [Int] = []
    bytes.withUnsafeBufferPointer { all in
      for r in ranges {
        ids.removeAll(keepingCapacity: true)
        let record = UnsafeBufferPointer(rebasing: all[r])
        if smiles {
          SmilesTokenizer.encode(record, vocabulary: domain, into: &ids)
        } else {
          ResidueTokenizer.encode(record, vocabulary: domain, into: &ids)
        }
        tokens += ids.count
        if sum { check.record(ids) }
      }
    }
    return (check, tokens)
  }
}
