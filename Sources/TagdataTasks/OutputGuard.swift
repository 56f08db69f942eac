#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The check made before an output directory is replaced as a whole (a build, a merge of
/// partitions, a tokenized export): the output must not be an existing file, nor a non-empty
/// folder that is not a tagdata output (its files would be lost), and none of what
/// the command reads (the catalog, the build, the partitions) may be the output or lie inside
/// it, since replacing the output would delete it.
enum OutputGuard {
  /// Why `out` cannot be written, or nil when it can. `inputs` are what the command reads, each
  /// with what it is ("the catalog").
  static func problem(out: String, inputs: [(what: String, path: String)]) -> String? {
    var st = stat()
    if lstat(out, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR {
      if (st.st_mode & S_IFMT) != S_IFLNK || stat(out, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
        return "exists and is not a directory: the output is a directory, replaced as a whole (remove the file or choose another --out)"
      }
    }
    let target = resolved(out)
    for (what, path) in inputs {
      let p = resolved(path)
      if p == target || p.hasPrefix(target == "/" ? "/" : target + "/") {
        return "would replace \(what) \(path), which this command reads "
          + (p == target ? "(it is the output)" : "(it is inside the output directory)") + ": choose another --out"
      }
    }
    if let foreign = foreignContent(out) {
      return "is a folder holding \(foreign), not a tagdata output (no manifest.json, partition.json or dataset.json): "
        + "it would be replaced as a whole; remove it or choose another --out"
    }
    return nil
  }

  /// What a non-empty directory at `out` holds when it is not a tagdata output (a build, a
  /// partial build or token dataset, a token dataset: one of their manifests at its top), nil
  /// when it is one, is empty, or does not exist. `--out .` or `--out ~/data` must not wipe a folder.
  static func foreignContent(_ out: String) -> String? {
    guard let items = try? FileManager.default.contentsOfDirectory(atPath: out), !items.isEmpty else { return nil }
    if items.contains(where: { ["manifest.json", "partition.json", "dataset.json"].contains($0) }) { return nil }
    let shown = items.sorted().prefix(3).joined(separator: ", ")
    return items.count > 3 ? "\(items.count) entries (\(shown), ...)" : shown
  }

  /// The absolute path with symbolic links resolved: of the path itself when it exists, else of
  /// its nearest existing ancestor, followed by the rest.
  static func resolved(_ path: String) -> String {
    var url = URL(fileURLWithPath: path).standardizedFileURL
    var rest: [String] = []
    while true {
      if let r = realpath(url.path, nil) {
        defer { free(r) }
        var s = String(cString: r)
        for c in rest.reversed() { s += (s.hasSuffix("/") ? "" : "/") + c }
        return s
      }
      let parent = url.deletingLastPathComponent()
      if parent.path == url.path { return URL(fileURLWithPath: path).standardizedFileURL.path }
      rest.append(url.lastPathComponent)
      url = parent
    }
  }
}
