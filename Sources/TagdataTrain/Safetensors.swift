import Foundation

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to its dtype, shape and byte range (plus an optional
/// `__metadata__` map of strings), then the raw little-endian data. tagdata writes F32;
/// it reads F32, F16 and BF16 (converted to float32), as small Hugging Face checkpoints come.
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

  /// Reads every tensor (as float32) and the metadata.
  public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    guard data.count >= 8 else { throw FormatError(file: path, message: "shorter than a safetensors header") }
    let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard n <= UInt64(data.count - 8), n < 100_000_000 else { throw FormatError(file: path, message: "header length \(n) is out of range") }
    let headerData = data.subdata(in: 8..<(8 + Int(n)))
    guard let header = try JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
      throw FormatError(file: path, message: "header is not a JSON object")
    }
    let base = 8 + Int(n)
    var tensors: [String: Tensor] = [:]
    var metadata: [String: String] = [:]
    for (name, value) in header {
      if name == "__metadata__" {
        metadata = (value as? [String: String]) ?? [:]
        continue
      }
      guard let info = value as? [String: Any], let dtype = info["dtype"] as? String, let shape = info["shape"] as? [Int],
        let range = info["data_offsets"] as? [Int], range.count == 2, range[0] <= range[1], base + range[1] <= data.count
      else { throw FormatError(file: path, message: "bad header entry for \(name)") }
      let count = shape.reduce(1, *)
      let width = dtype == "F32" ? 4 : (dtype == "F16" || dtype == "BF16") ? 2 : 0
      guard width > 0 else { throw FormatError(file: path, message: "\(name): dtype \(dtype) is not supported (F32, F16, BF16)") }
      guard range[1] - range[0] == count * width else {
        throw FormatError(file: path, message: "\(name): \(range[1] - range[0]) bytes for \(count) \(dtype) values")
      }
      var values = [Float](repeating: 0, count: count)
      data.withUnsafeBytes { raw in
        let p = raw.baseAddress! + base + range[0]
        for i in 0..<count {
          switch dtype {
          case "F32":
            values[i] = Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
          case "BF16":
            values[i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
          default:
            values[i] = Float(Float16Bits(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
          }
        }
      }
      tensors[name] = Tensor(shape: shape, data: values)
    }
    return (tensors, metadata)
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
