import TagdataIO

/// Evaluation metrics (filled in by the evaluation work).
public enum Metrics {}
