/// Text for Telegram's HTML parse mode: everything that comes from outside (strategy names,
/// reasons, errors) is escaped, and a message longer than Telegram's limit is cut into parts at
/// line breaks, never inside an escape.
public enum AlertText {
    /// Telegram's limit on one message's text, in characters.
    public static let maxCharacters = 4096

    /// `&`, `<`, `>` and `"` as entities (what the HTML parse mode requires of plain text).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    /// The plain text of a message written for the HTML parse mode: tags removed, the entities
    /// ``escape`` writes turned back into their characters (for webhooks and ntfy-style endpoints).
    public static func plain(_ html: String) -> String {
        var out = ""
        out.reserveCapacity(html.utf8.count)
        var inTag = false
        for character in html {
            switch character {
            case "<": inTag = true
            case ">" where inTag: inTag = false
            default: if !inTag { out.append(character) }
            }
        }
        return out.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// `text` in parts of at most `limit` characters: whole lines where they fit, a longer line
    /// cut before an entity (`&…;`) rather than inside one. Parts are never empty.
    public static func split(_ text: String, limit: Int = maxCharacters) -> [String] {
        precondition(limit >= 16, "limit must leave room for an entity")
        guard text.count > limit else { return text.isEmpty ? [] : [text] }
        var parts: [String] = []
        var current = ""
        func flush() {
            if !current.isEmpty { parts.append(current) }
            current = ""
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let piece = current.isEmpty ? String(line) : "\n" + line
            if current.count + piece.count <= limit {
                current += piece
                continue
            }
            flush()
            var rest = Substring(line)
            while rest.count > limit {
                var cut = rest.index(rest.startIndex, offsetBy: limit)
                // Step back over a partial entity: an `&` within the last 8 characters with no `;` after it.
                if let amp = rest[rest.index(cut, offsetBy: -8)..<cut].lastIndex(of: "&"), !rest[amp..<cut].contains(";") {
                    cut = amp
                }
                parts.append(String(rest[..<cut]))
                rest = rest[cut...]
            }
            current = String(rest)
        }
        flush()
        return parts
    }
}
