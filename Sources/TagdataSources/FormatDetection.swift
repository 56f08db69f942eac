import TagdataIO

extension ProteinFormat {
  /// The protein format of a file's first decompressed bytes (see ``InputFormat/detect(_:file:)``);
  /// nil when they are not a protein format.
  public static func detect(_ head: [UInt8]) -> ProteinFormat? {
    (try? InputFormat.detect(head, file: ""))?.proteinFormat
  }
}

/// Where to start reading a file part-way through (resuming interrupted work).
public struct ResumePoint: Sendable, Equatable {
  /// Records already handled.
  public var recordIndex: Int
  /// Byte offset (decompressed) of the first unhandled record.
  public var offset: Int64
  /// Line of the first unhandled record.
  public var line: Int

  public init(recordIndex: Int, offset: Int64, line: Int) {
    self.recordIndex = recordIndex
    self.offset = offset
    self.line = line
  }
}

/// Makes the reader for a format over a decompressed stream, positioned at `resume` when given.
/// Line-based formats skip straight to the byte offset; XML is re-parsed and the first
/// `resume.recordIndex` entries are dropped.
public func makeProteinReader(format: ProteinFormat, source: ByteSource, resume: ResumePoint? = nil) throws
  -> ProteinReader
{
  switch format {
  case .uniprotFlat, .fasta:
    let (lines, first) = try positionedLines(source, resume)
    return format == .fasta
      ? FastaReader(lines: lines, firstRecordIndex: first)
      : UniProtFlatReader(lines: lines, firstRecordIndex: first)
  case .uniprotXML:
    let reader = try UniProtXMLReader(source: source)
    if let resume {
      for _ in 0..<resume.recordIndex where try reader.next() != nil {}
    }
    return reader
  }
}

/// A line reader over `source`, moved to `resume`'s byte offset (line formats resume by
/// skipping), and the index of the first record it will read.
func positionedLines(_ source: ByteSource, _ resume: ResumePoint?) throws -> (LineReader, Int) {
  let lines = LineReader(source)
  guard let resume, resume.offset > 0 else { return (lines, 0) }
  let skipped = try source.skip(resume.offset)
  guard skipped == resume.offset else {
    throw InputError.io(file: source.name, message: "file is shorter than when it was last read; cannot resume")
  }
  lines.assumePosition(offset: resume.offset, line: resume.line)
  return (lines, resume.recordIndex)
}
