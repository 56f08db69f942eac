import TagdataEval
import TagdataIO
import TestSupport
import Testing

@Suite struct MetricsTests {}
