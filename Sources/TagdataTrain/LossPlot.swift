import Foundation

/// Draws the training log as an SVG line chart: one panel per stage, training loss per step
/// (line) and validation loss (dots), so a run can be judged at a glance (`OUT/loss.svg`).
public enum LossPlot {
  public static func svg(_ log: [StepLog]) -> String {
    var stages: [String] = []
    for l in log where !stages.contains(l.stage) { stages.append(l.stage) }
    let panelWidth = 320.0, panelHeight = 200.0, margin = 44.0
    let width = Double(max(stages.count, 1)) * (panelWidth + margin) + margin, height = panelHeight + 2 * margin
    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
      <rect width="100%" height="100%" fill="white"/>

      """
    for (k, stage) in stages.enumerated() {
      let rows = log.filter { $0.stage == stage }
      let x0 = margin + Double(k) * (panelWidth + margin), y0 = margin
      let values = rows.map { Double($0.loss) } + rows.compactMap { $0.validationLoss.map(Double.init) }
      let low = min(values.min() ?? 0, 0), high = max(values.max() ?? 1, low + 1e-6)
      let steps = Double(max(rows.map(\.step).max() ?? 1, 1))
      func x(_ s: Int) -> Double { x0 + Double(s) / steps * panelWidth }
      func y(_ v: Double) -> Double { y0 + panelHeight - (v - low) / (high - low) * panelHeight }
      out += "<text x=\"\(x0)\" y=\"\(y0 - 10)\" font-weight=\"bold\">\(escape(stage))</text>\n"
      out += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#999\"/>\n"
      out += "<text x=\"\(x0 - 4)\" y=\"\(y0 + 4)\" text-anchor=\"end\">\(format(high))</text>\n"
      out += "<text x=\"\(x0 - 4)\" y=\"\(y0 + panelHeight)\" text-anchor=\"end\">\(format(low))</text>\n"
      out += "<text x=\"\(x0 + panelWidth)\" y=\"\(y0 + panelHeight + 16)\" text-anchor=\"end\">step \(Int(steps))</text>\n"
      let points = rows.map { "\(format(x($0.step))),\(format(y(Double($0.loss))))" }.joined(separator: " ")
      out += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
      for r in rows {
        if let v = r.validationLoss {
          out += "<circle cx=\"\(format(x(r.step)))\" cy=\"\(format(y(Double(v))))\" r=\"3.5\" fill=\"#d62728\"/>\n"
        }
      }
    }
    out += "<text x=\"\(margin)\" y=\"\(height - 12)\">training loss (line), validation loss (dots)</text>\n</svg>\n"
    return out
  }

  static func format(_ v: Double) -> String { String(format: "%.3g", v) }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
  }
}
