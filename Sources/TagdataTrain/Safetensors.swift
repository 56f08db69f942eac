import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to its dtype, shape and byte range (plus an optional
/// `__metadata__` map of strings), then the raw little-endian data. tagdata writes F32;
/// it reads F32, F16 and BF16, converted to float32 when read (the model computes in float32 only),
/// as Hugging Face checkpoints come.
public enum Safetensors {
  public struct FormatError: Error, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
  }

  /// Writes tensors in the order given (names sorted would also do; the order is kept so that
  /// files are byte-for-byte reproducible).
  public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
    var header: [String: Any] = [:]
    var offset = 0
    for (name, t) in tensors {
      let bytes = t.count * 4
      header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
      offset += bytes
    }
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    // Pad the header with spaces to a multiple of 8 bytes, so that the data is aligned.
    while (json.count + 8) % 8 != 0 { json.append(0x20) }
    var out = Data()
    out.reserveCapacity(8 + json.count + offset)
    var n = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(json)
    for (_, t) in tensors {
      t.data.withUnsafeBytes { raw in
        // Float32 is stored little-endian; this machine is little-endian (checked below).
        out.append(contentsOf: raw)
      }
    }
    precondition(UInt32(1).littleEndian == 1, "big-endian hosts are not supported")
    let tmp = path + ".partial"
    try out.write(to: URL(fileURLWithPath: tmp))
    if rename(tmp, path) != 0 { throw FormatError(file: path, message: "cannot rename \(tmp): errno \(errno)") }
  }

  /// Reads every tensor (converted to float32) and the metadata. The file is memory-mapped and
  /// each tensor converted from the mapped bytes (no copy of the whole file first). The header
  /// is checked against the file: every tensor's dtype, shape and byte range must agree and lie
  /// inside the file, or the error names the tensor.
  public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    let file = try MappedFile(path)
    defer { withExtendedLifetime(file) {} }
    let data = file.bytes
    guard data.count >= 8 else { throw FormatError(file: path, message: "\(data.count) bytes, shorter than a safetensors header") }
    let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[$1]) << (8 * UInt64($1)) }
    guard n <= UInt64(data.count - 8) else {
      throw FormatError(file: path, message: "header length \(n) runs past the end of the file (\(data.count) bytes; truncated?)")
    }
    guard n < 100_000_000 else { throw FormatError(file: path, message: "header length \(n) is out of range") }
    let headerData = Data(UnsafeRawBufferPointer(rebasing: data[8..<(8 + Int(n))]))
    guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
      throw FormatError(file: path, message: "the header is not a JSON object")
    }
    let base = 8 + Int(n)
    let available = data.count - base
    var tensors: [String: Tensor] = [:]
    var metadata: [String: String] = [:]
    var ranges: [(begin: Int, end: Int, name: String)] = []
    for name in header.keys.sorted() {
      let value = header[name]!
      if name == "__metadata__" {
        guard let m = value as? [String: String] else { throw FormatError(file: path, message: "__metadata__ is not a map of strings") }
        metadata = m
        continue
      }
      guard let info = value as? [String: Any] else { throw FormatError(file: path, message: "tensor \(name): the entry is not an object") }
      guard let dtype = info["dtype"] as? String else { throw FormatError(file: path, message: "tensor \(name): no dtype") }
      guard let shape = info["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
        throw FormatError(file: path, message: "tensor \(name): shape \(info["shape"].map { "\($0)" } ?? "missing") is not a list of sizes")
      }
      guard let range = info["data_offsets"] as? [Int], range.count == 2, range[0] >= 0, range[0] <= range[1] else {
        throw FormatError(file: path, message: "tensor \(name): data_offsets \(info["data_offsets"].map { "\($0)" } ?? "missing") are not [begin, end]")
      }
      var count = 1
      for d in shape {
        let (c, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow, c <= Int(Int32.max) else { throw FormatError(file: path, message: "tensor \(name): shape \(shape) is too large") }
        count = c
      }
      let width: Int
      switch dtype {
      case "F32": width = 4
      case "F16", "BF16": width = 2
      default: throw FormatError(file: path, message: "tensor \(name): dtype \(dtype) is not supported (F32, F16, BF16)")
      }
      guard range[1] - range[0] == count * width else {
        throw FormatError(file: path, message: "tensor \(name): dtype \(dtype) with shape \(shape) needs \(count * width) bytes, "
                            + "data_offsets \(range) give \(range[1] - range[0])")
      }
      guard range[1] <= available else {
        throw FormatError(file: path, message: "tensor \(name): data ends at byte \(range[1]) of the data section, which has only "
                            + "\(available) bytes (truncated file?)")
      }
      if count > 0 { ranges.append((range[0], range[1], name)) }
      var values = [Float](repeating: 0, count: count)
      if count > 0 {
        let p = data.baseAddress! + base + range[0]
        values.withUnsafeMutableBufferPointer { out in
          switch dtype {
          case "F32":
            for i in 0..<count { out[i] = Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
          case "BF16":
            for i in 0..<count {
              out[i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
            }
          default:
            for i in 0..<count { out[i] = Float16Bits(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
          }
        }
      }
      tensors[name] = Tensor(shape: shape, data: values)
    }
    // Two tensors sharing bytes is a corrupt header (the format lays them end to end).
    ranges.sort { $0.begin < $1.begin }
    for (a, b) in zip(ranges, ranges.dropFirst()) where b.begin < a.end {
      throw FormatError(file: path, message: "tensor \(b.name): data_offsets overlap those of \(a.name)")
    }
    return (tensors, metadata)
  }

  /// A file mapped read-only with mmap(2): tensors are converted straight from the page cache,
  /// never copied whole into memory first. Unmapped when released.
  final class MappedFile {
    let bytes: UnsafeRawBufferPointer

    init(_ path: String) throws {
      let fd = open(path, O_RDONLY)
      guard fd >= 0 else { throw FormatError(file: path, message: "cannot be opened: \(String(cString: strerror(errno)))") }
      defer { close(fd) }
      var info = stat()
      guard fstat(fd, &info) == 0 else { throw FormatError(file: path, message: "cannot be read: \(String(cString: strerror(errno)))") }
      guard (info.st_mode & S_IFMT) == S_IFREG else { throw FormatError(file: path, message: "is not a regular file") }
      let size = Int(info.st_size)
      guard size > 0 else {
        bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        return
      }
      guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
        throw FormatError(file: path, message: "cannot be mapped: \(String(cString: strerror(errno)))")
      }
      bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
      if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
  }
}

/// IEEE half precision to float, without relying on the Float16 type (absent on some hosts).
func Float16Bits(_ h: UInt16) -> Float {
  let sign: UInt32 = UInt32(h & 0x8000) << 16
  let exponent = Int((h >> 10) & 0x1F)
  let mantissa = UInt32(h & 0x3FF)
  if exponent == 0 {
    // Zero or subnormal.
    let v = Float(mantissa) / 1024 / 16384
    return sign != 0 ? -v : v
  }
  if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
  return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}
