extension ConfigJSON {
  /// The value as compact JSON: members in their order, strings escaped as `JSONString` does,
  /// integers as integers and other numbers in the shortest form that reads back to the same
  /// Double. Nesting is bounded by the parser's `maximumDepth`, so the recursion is too.
  public func serialized() -> [UInt8] {
    var out: [UInt8] = []
    write(to: &out)
    return out
  }

  public func write(to out: inout [UInt8]) {
    switch self {
    case .null: out += Array("null".utf8)
    case .bool(let b): out += Array((b ? "true" : "false").utf8)
    case .number(let d, let i):
      if let i { out += Array(String(i).utf8) } else { out += Array((d.isFinite ? "\(d)" : "null").utf8) }
    case .string(let s): JSONString.append(s, to: &out)
    case .array(let items):
      out.append(0x5B)
      for (k, n) in items.enumerated() {
        if k > 0 { out.append(0x2C) }
        n.value.write(to: &out)
      }
      out.append(0x5D)
    case .object(let members):
      out.append(0x7B)
      for (k, m) in members.enumerated() {
        if k > 0 { out.append(0x2C) }
        JSONString.append(m.key, to: &out)
        out.append(0x3A)
        m.value.value.write(to: &out)
      }
      out.append(0x7D)
    }
  }
}
