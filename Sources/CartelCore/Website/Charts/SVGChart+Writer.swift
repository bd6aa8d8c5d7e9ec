import Foundation

// MARK: - Writing SVG

extension SVGChart {
    /// Appends SVG elements to one string.
    struct Writer {
        private var out: String

        init(width: Double, height: Double, title: String, kind: String) {
            out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"100%\""
                + " role=\"img\" aria-label=\"\(escape(title))\" class=\"chart \(kind)\" font-size=\"11\">"
        }

        mutating func raw(_ text: String) { out += text }

        /// A path; nothing when `d` is empty. Stroke-only paths say `fill="none"` so they stay lines even without the style sheet.
        mutating func path(class name: String, _ d: String, fillNone: Bool = false) {
            guard !d.isEmpty else { return }
            out += "<path class=\"\(name)\"\(fillNone ? " fill=\"none\"" : "") d=\"\(d)\"/>"
        }

        mutating func text(class name: String, x: Double, y: Double, anchor: String?, baseline: String?, _ content: String) {
            out += "<text class=\"\(name)\" x=\"\(n(x))\" y=\"\(n(y))\""
            if let anchor { out += " text-anchor=\"\(anchor)\"" }
            if let baseline { out += " dominant-baseline=\"\(baseline)\"" }
            out += ">\(escape(content))</text>"
        }

        mutating func timeLabels(_ labels: [TimeLabel], y: Double) {
            for (index, label) in labels.enumerated() {
                let text = TimeAxis.text(label.time)
                let minor = labels.count >= 4 && index % 2 == 1 ? " minor" : ""
                out += "<text class=\"t\(minor)\" data-time=\"\(text.iso)\" x=\"\(n(label.x))\" y=\"\(n(y))\""
                    + " text-anchor=\"\(label.anchor)\">\(text.short)</text>"
            }
        }

        /// The title at the left and the legend entries flush right, on the title's row when they
        /// fit beside it, else on rows of their own (sized for the larger type phones get).
        /// Entries flow as `<tspan>`s, so they never overlap one another.
        mutating func legend(_ entries: [LegendEntry], title: String, left: Double, right: Double, rowHeight: Double, width: Double) {
            out += "<text class=\"lg title\" x=\"\(n(left))\" y=\"\(n(rowHeight * 0.68))\">\(escape(title))</text>"
            for (row, items) in Writer.legendRows(entries, title: title, width: width).enumerated() where !items.isEmpty {
                out += "<text class=\"lg\" x=\"\(n(right))\" y=\"\(n(rowHeight * Double(row) + rowHeight * 0.68))\" text-anchor=\"end\">"
                for (position, entry) in items.enumerated() {
                    let dx = position == 0 ? "" : " dx=\"1em\""
                    out += "<tspan class=\"sw \(entry.swatch)\"\(dx)>\(entry.glyph)</tspan><tspan dx=\".3em\">\(escape(entry.name))</tspan>"
                }
                out += "</text>"
            }
        }

        /// Legend entries by row; the first row shares its line with the title.
        static func legendRows(_ entries: [LegendEntry], title: String, width: Double) -> [[LegendEntry]] {
            let budget = max(20, Int(width / 12))
            var rows: [[LegendEntry]] = [[]]
            var used = title.count + 4
            for entry in entries {
                let size = entry.name.count + 3
                if used + size > budget, !(rows[rows.count - 1].isEmpty && rows.count > 1) {
                    rows.append([])
                    used = 0
                }
                rows[rows.count - 1].append(entry)
                used += size
            }
            return rows
        }

        func finish() -> String { out + "</svg>" }
    }
}
