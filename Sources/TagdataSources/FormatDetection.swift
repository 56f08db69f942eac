import TagdataIO

extension ProteinFormat {
  /// The protein format of a file's first decompressed bytes (see ``InputFormat/detect(_:file:)``);
  /// nil when they are not a protein format.
  public static func detect(_ head: [UInt8]) -> ProteinFormat? {
    (try? InputFormat.detect(head, file: ""))?.proteinFormat
  }
}

/// Bounds a reader keeps to, whatever the input.
public struct ReaderLimits: Sendable, Equatable {
  /// A record of more bytes than this is not buffered: it is skipped to the next record boundary
  /// (its bytes streamed past, memory flat) and handed out as malformed, with the limit and the
  /// line where it was passed.
  public var maxRecordBytes: Int

  public init(maxRecordBytes: Int = 256 << 20) {
    self.maxRecordBytes = max(1, maxRecordBytes)
  }

  /// The reason given for a record over the limit.
  func tooLarge(line: Int) -> String {
    "record is larger than the record limit of \(maxRecordBytes) bytes (--max-record-bytes), passed at line \(line); skipped"
  }
}

/// Makes the reader for a format over a decompressed stream, positioned at `resume` when given.
/// Line-based formats skip straight to the byte offset; XML is re-parsed and the first
/// `resume.index` entries are dropped.
public func makeProteinReader(format: ProteinFormat, source: ByteSource, resume: RecordLocation? = nil,
                              limits: ReaderLimits = ReaderLimits()) throws
  -> ProteinReader
{
  switch format {
  case .uniprotFlat, .fasta:
    let (lines, first) = try positionedLines(source, resume, limits)
    return format == .fasta
      ? FastaReader(lines: lines, firstRecordIndex: first, limits: limits)
      : UniProtFlatReader(lines: lines, firstRecordIndex: first, limits: limits)
  case .uniprotXML:
    let reader = try UniProtXMLReader(source: source, limits: limits)
    if let resume {
      for _ in 0..<resume.index where try reader.next() != nil {}
    }
    return reader
  }
}

/// A line reader over `source`, moved to `resume`'s byte offset (line formats resume by
/// skipping), and the index of the first record it will read.
func positionedLines(_ source: ByteSource, _ resume: RecordLocation?, _ limits: ReaderLimits = ReaderLimits()) throws
  -> (LineReader, Int)
{
  let lines = LineReader(source)
  // A line longer than a record may be is cut and passed over: its record is too large anyway.
  lines.maxLineLength = min(lines.maxLineLength, limits.maxRecordBytes)
  lines.truncatesLongLines = true
  guard let resume, resume.offset > 0 else { return (lines, 0) }
  let skipped = try source.skip(resume.offset)
  guard skipped == resume.offset else {
    throw InputError.io(file: source.name, message: "file is shorter than when it was last read; cannot resume")
  }
  lines.assumePosition(offset: resume.offset, line: resume.line)
  return (lines, resume.index)
}
