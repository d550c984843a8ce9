// IgnoreRules: a matcher for `.hgignore` files written in gitignore syntax.
//
// The rules follow gitignore(5) for a single ignore file at the repository root:
//
// * Lines are split on "\n"; a "\r" before the "\n" is dropped, as is a leading byte-order mark.
// * Blank lines and lines starting with "#" are skipped; "\#" and "\!" escape a leading "#"/"!".
// * Trailing unescaped spaces are trimmed ("\ " keeps one space).
// * A leading "!" negates; the last matching rule decides.
// * A trailing "/" restricts the rule to directories.
// * A pattern containing a "/" anywhere but at its end is anchored at the root and matched against
//   the whole path; otherwise it is matched against the last path component at any depth.
// * "*" matches any run of characters except "/", "?" one character except "/", "[...]" a character
//   class (ranges, "!" or "^" negation, "[:alpha:]"-style POSIX classes; never "/"), "\x" the
//   character x. "**" is special only as a whole path component: "**/" at the start or "/**/" in the
//   middle matches zero or more directories, "/**" at the end everything below. Any other run of
//   asterisks is a plain "*".
//
// Matching is case-sensitive and works on Unicode scalars (git works on bytes; the two agree for
// ASCII, and here "?" or "[é]" match a whole non-ASCII character). A pattern git could never match
// (a dangling "\", an unterminated "[", an unknown "[:class:]", an empty pattern) is dropped.
//
// Deliberate difference from git 2.39: git strips a pattern's leading literal text before calling
// its glob matcher, so a "**" directly after that text (as in "src/gen**") behaves like a "/**"
// there. This implementation follows the documentation instead and treats it as a plain "*".
//
// Matching cost is polynomial: a pattern is split on "/" into components; components are matched
// against the path's components with two-pointer backtracking ("**" components playing the role of
// the star), and characters within a component with the same two-pointer backtracking ("*"). Both
// levels are O(pattern length × text length) comparisons in the worst case.

/// Rules parsed from one `.hgignore` file (gitignore syntax).
public struct IgnoreRules: Sendable {
    /// The rules in file order; the last matching one decides.
    private let rules: [Rule]

    /// Parses the text of an ignore file. Never fails: lines that cannot match anything are dropped.
    public init(text: String) {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var parsed: [Rule] = []
        for line in scalars.split(separator: "\n", omittingEmptySubsequences: false) {
            if let rule = Rule(line: line) { parsed.append(rule) }
        }
        rules = parsed
    }

    private init(rules: [Rule]) {
        self.rules = rules
    }

    /// No rules.
    public static let empty = IgnoreRules(rules: [])

    /// Whether `path` is ignored. `path` is relative to the repository root, uses "/" separators,
    /// has no leading "/" and no trailing "/". `isDirectory` tells whether it names a directory.
    /// Callers walk the tree top-down and do not descend into ignored directories, so this function
    /// only needs to decide for the path itself (as git does, a file inside an ignored directory is
    /// the caller's business), but it must still apply patterns containing slashes to the full path.
    public func isIgnored(_ path: String, isDirectory: Bool) -> Bool {
        let scalars = Array(path.unicodeScalars)
        // Be lenient about stray separators at either end.
        var start = 0
        var end = scalars.count
        while start < end && scalars[start] == "/" { start += 1 }
        while end > start && scalars[end - 1] == "/" { end -= 1 }
        if start == end { return false }

        let components = scalars[start..<end].split(separator: "/", omittingEmptySubsequences: false)
        guard let basename = components.last else { return false }
        if let first = components.first, first.elementsEqual(IgnoreRules.repositoryDirectory) {
            return true
        }

        for rule in rules.reversed() {
            if rule.directoryOnly && !isDirectory { continue }
            let matched =
                rule.matchesBasename
                ? rule.glob.matches([basename])
                : rule.glob.matches(components)
            if matched { return !rule.negated }
        }
        return false
    }

    /// The repository's own metadata directory, always ignored.
    private static let repositoryDirectory: [Unicode.Scalar] = Array(".hgrepo".unicodeScalars)
}

// MARK: - Rules

/// One parsed line of an ignore file.
private struct Rule: Sendable {
    /// The line started with "!": a match un-ignores.
    let negated: Bool
    /// The line ended with "/": only directories match.
    let directoryOnly: Bool
    /// The pattern has no "/": it is matched against the last path component only.
    let matchesBasename: Bool
    let glob: Glob

    /// Parses one line (without its "\n"); nil for comments, blank lines and unmatchable patterns.
    init?(line: ArraySlice<Unicode.Scalar>) {
        var pattern = Array(line)
        if pattern.last == "\r" { pattern.removeLast() }
        if pattern.isEmpty || pattern[0] == "#" { return nil }
        Rule.trimTrailingSpaces(&pattern)

        var negated = false
        if pattern.first == "!" {
            negated = true
            pattern.removeFirst()
        }
        var directoryOnly = false
        if pattern.last == "/" {
            directoryOnly = true
            pattern.removeLast()
        }
        let matchesBasename = !pattern.contains("/")
        if !matchesBasename && pattern.first == "/" {
            pattern.removeFirst()
        }
        if pattern.isEmpty { return nil }
        guard let glob = Glob(pattern) else { return nil }

        self.negated = negated
        self.directoryOnly = directoryOnly
        self.matchesBasename = matchesBasename
        self.glob = glob
    }

    /// Removes trailing spaces that are not escaped with a backslash (git's `trim_trailing_spaces`).
    private static func trimTrailingSpaces(_ pattern: inout [Unicode.Scalar]) {
        var firstTrailingSpace: Int? = nil
        var index = 0
        while index < pattern.count {
            switch pattern[index] {
            case " ":
                if firstTrailingSpace == nil { firstTrailingSpace = index }
            case "\\":
                index += 1
                if index == pattern.count { return }  // dangling escape: leave as is
                firstTrailingSpace = nil
            default:
                firstTrailingSpace = nil
            }
            index += 1
        }
        if let cut = firstTrailingSpace { pattern.removeSubrange(cut...) }
    }
}

// MARK: - Glob

/// A compiled glob: a sequence of path-component matchers.
private struct Glob: Sendable {
    enum Component: Sendable {
        /// Matches exactly one path component.
        case segment([Token])
        /// "**": matches zero or more whole path components.
        case anyComponents
    }

    enum Token: Sendable {
        case literal(Unicode.Scalar)
        /// "?".
        case anyCharacter
        /// "*" (never crosses "/", which cannot occur inside a component anyway).
        case star
        case characterClass(CharacterClass)

        func matches(_ character: Unicode.Scalar) -> Bool {
            switch self {
            case .literal(let expected): return character == expected
            case .anyCharacter: return character != "/"
            case .star: return true
            case .characterClass(let set): return character != "/" && set.contains(character)
            }
        }

        var isStar: Bool {
            if case .star = self { return true }
            return false
        }
    }

    let components: [Component]

    /// Compiles `pattern` (already stripped of "!", the trailing "/" and the anchoring "/").
    /// Returns nil when the pattern can never match anything.
    init?(_ pattern: [Unicode.Scalar]) {
        // First pass: characters to tokens. A run of asterisks is kept as `stars`; whether it is a
        // "**" component can only be decided once its neighbours are known.
        enum Raw {
            case token(Token)
            case slash(escaped: Bool)
            case stars(Int)
        }
        var raws: [Raw] = []
        var index = 0
        while index < pattern.count {
            let character = pattern[index]
            switch character {
            case "\\":
                index += 1
                guard index < pattern.count else { return nil }
                let escaped = pattern[index]
                raws.append(escaped == "/" ? .slash(escaped: true) : .token(.literal(escaped)))
                index += 1
            case "/":
                raws.append(.slash(escaped: false))
                index += 1
            case "?":
                raws.append(.token(.anyCharacter))
                index += 1
            case "*":
                var count = 0
                while index < pattern.count && pattern[index] == "*" {
                    count += 1
                    index += 1
                }
                raws.append(.stars(count))
            case "[":
                guard let (set, end) = CharacterClass.parse(pattern, openingBracket: index) else {
                    return nil
                }
                raws.append(.token(.characterClass(set)))
                index = end + 1
            default:
                raws.append(.token(.literal(character)))
                index += 1
            }
        }

        // Second pass: split on "/" into components, recognising "**" components.
        var components: [Component] = []
        var current: [Token] = []
        var position = 0
        while position < raws.count {
            switch raws[position] {
            case .token(let token):
                current.append(token)
                position += 1
            case .slash:
                components.append(.segment(current))
                current = []
                position += 1
            case .stars(let count):
                let atComponentStart: Bool
                if position == 0 {
                    atComponentStart = true
                } else if case .slash = raws[position - 1] {
                    atComponentStart = true
                } else {
                    atComponentStart = false
                }
                let next: Raw? = position + 1 < raws.count ? raws[position + 1] : nil
                let isGlobstar: Bool
                var zeroDirectoriesAllowed = false
                switch next {
                case .none:
                    isGlobstar = count >= 2 && atComponentStart
                case .some(.slash(let escaped)):
                    isGlobstar = count >= 2 && atComponentStart
                    // git only lets "**/" match zero directories when the slash is unescaped.
                    zeroDirectoriesAllowed = !escaped
                default:
                    isGlobstar = false
                }
                if isGlobstar {
                    // The stars form a whole component, so `current` is empty here.
                    if !zeroDirectoriesAllowed {
                        // A trailing "/**" (or "**\/") needs at least one component.
                        components.append(.segment([.star]))
                    }
                    components.append(.anyComponents)
                    if next == nil {
                        self = Glob.finish(components, trailing: nil)
                        return
                    }
                    // Skip the slash after "**": the "**" component absorbs it, and the
                    // tokens that follow start the next component.
                    position += 2
                } else {
                    if !(current.last?.isStar ?? false) { current.append(.star) }
                    position += 1
                }
            }
        }
        self = Glob.finish(components, trailing: current)
    }

    private init(components: [Component]) {
        self.components = components
    }

    private static func finish(_ components: [Component], trailing: [Token]?) -> Glob {
        var all = components
        if let trailing { all.append(.segment(trailing)) }
        // Collapse adjacent "**" components: "**/**" means the same as "**".
        var collapsed: [Component] = []
        for component in all {
            if case .anyComponents = component, case .anyComponents? = collapsed.last { continue }
            collapsed.append(component)
        }
        return Glob(components: collapsed)
    }

    /// Whether the glob matches the path whose "/"-separated components are `text`.
    func matches(_ text: [ArraySlice<Unicode.Scalar>]) -> Bool {
        // Two-pointer backtracking over components; `anyComponents` is the star.
        var patternIndex = 0
        var textIndex = 0
        var starPattern = -1
        var starText = 0
        while textIndex < text.count {
            if patternIndex < components.count {
                switch components[patternIndex] {
                case .anyComponents:
                    starPattern = patternIndex
                    starText = textIndex
                    patternIndex += 1
                    continue
                case .segment(let tokens):
                    if Glob.matchSegment(tokens, text[textIndex]) {
                        patternIndex += 1
                        textIndex += 1
                        continue
                    }
                }
            }
            guard starPattern >= 0 else { return false }
            patternIndex = starPattern + 1
            starText += 1
            textIndex = starText
        }
        while patternIndex < components.count, case .anyComponents = components[patternIndex] {
            patternIndex += 1
        }
        return patternIndex == components.count
    }

    /// Two-pointer backtracking match of one component's tokens against one path component.
    private static func matchSegment(_ tokens: [Token], _ text: ArraySlice<Unicode.Scalar>) -> Bool {
        var tokenIndex = 0
        var textIndex = text.startIndex
        var starToken = -1
        var starText = text.startIndex
        while textIndex < text.endIndex {
            if tokenIndex < tokens.count {
                let token = tokens[tokenIndex]
                if token.isStar {
                    starToken = tokenIndex
                    starText = textIndex
                    tokenIndex += 1
                    continue
                }
                if token.matches(text[textIndex]) {
                    tokenIndex += 1
                    textIndex += 1
                    continue
                }
            }
            guard starToken >= 0 else { return false }
            tokenIndex = starToken + 1
            starText += 1
            textIndex = starText
        }
        while tokenIndex < tokens.count && tokens[tokenIndex].isStar { tokenIndex += 1 }
        return tokenIndex == tokens.count
    }
}

// MARK: - Character classes

/// A bracket expression such as `[a-z_]`, `[!0-9]` or `[[:alpha:]]`.
private struct CharacterClass: Sendable {
    enum Item: Sendable {
        case character(Unicode.Scalar)
        case range(Unicode.Scalar, Unicode.Scalar)
        case named(NamedClass)
    }

    enum NamedClass: String, Sendable {
        case alnum, alpha, blank, cntrl, digit, graph, lower, print, punct, space, upper, xdigit

        /// POSIX "C" locale classification: only ASCII characters belong to any class.
        func contains(_ character: Unicode.Scalar) -> Bool {
            let value = character.value
            guard value < 0x80 else { return false }
            let isUpper = (0x41...0x5A).contains(value)
            let isLower = (0x61...0x7A).contains(value)
            let isDigit = (0x30...0x39).contains(value)
            let isGraph = (0x21...0x7E).contains(value)
            switch self {
            case .alnum: return isUpper || isLower || isDigit
            case .alpha: return isUpper || isLower
            case .blank: return value == 0x20 || value == 0x09
            case .cntrl: return value < 0x20 || value == 0x7F
            case .digit: return isDigit
            case .graph: return isGraph
            case .lower: return isLower
            case .print: return isGraph || value == 0x20
            case .punct: return isGraph && !(isUpper || isLower || isDigit)
            case .space: return value == 0x20 || (0x09...0x0D).contains(value)
            case .upper: return isUpper
            case .xdigit:
                return isDigit || (0x41...0x46).contains(value) || (0x61...0x66).contains(value)
            }
        }
    }

    let negated: Bool
    let items: [Item]

    func contains(_ character: Unicode.Scalar) -> Bool {
        var found = false
        for item in items {
            switch item {
            case .character(let member): found = member == character
            case .range(let low, let high): found = low <= character && character <= high
            case .named(let named): found = named.contains(character)
            }
            if found { break }
        }
        return found != negated
    }

    /// Parses the bracket expression starting at `openingBracket` exactly as git's wildmatch does:
    /// a "]" right after "[" (or "[!") is a member, "\" escapes, "-" between two members forms a
    /// range, and "[:name:]" names a class. Returns the class and the index of the closing "]", or
    /// nil when the expression is unterminated or names an unknown class (git then never matches).
    static func parse(
        _ pattern: [Unicode.Scalar], openingBracket: Int
    ) -> (CharacterClass, Int)? {
        let count = pattern.count
        var index = openingBracket + 1
        guard index < count else { return nil }
        var negated = false
        if pattern[index] == "!" || pattern[index] == "^" {
            negated = true
            index += 1
            guard index < count else { return nil }
        }
        var items: [Item] = []
        // The previous single member, usable as the start of a range.
        var previous: Unicode.Scalar? = nil
        while true {
            var character = pattern[index]
            var member: Unicode.Scalar? = character
            if character == "\\" {
                index += 1
                guard index < count else { return nil }
                character = pattern[index]
                member = character
                items.append(.character(character))
            } else if character == "-", let low = previous, index + 1 < count,
                pattern[index + 1] != "]"
            {
                index += 1
                var high = pattern[index]
                if high == "\\" {
                    index += 1
                    guard index < count else { return nil }
                    high = pattern[index]
                }
                items.append(.range(low, high))
                member = nil
            } else if character == "[", index + 1 < count, pattern[index + 1] == ":" {
                let nameStart = index + 2
                var close = nameStart
                while close < count && pattern[close] != "]" { close += 1 }
                guard close < count else { return nil }
                if close - nameStart - 1 < 0 || pattern[close - 1] != ":" {
                    // No ":]": the "[" is an ordinary member.
                    items.append(.character("["))
                } else {
                    let name = String(String.UnicodeScalarView(pattern[nameStart..<(close - 1)]))
                    guard let named = NamedClass(rawValue: name) else { return nil }
                    items.append(.named(named))
                    member = nil
                    index = close
                }
            } else {
                items.append(.character(character))
            }
            previous = member
            index += 1
            guard index < count else { return nil }
            if pattern[index] == "]" { break }
        }
        return (CharacterClass(negated: negated, items: items), index)
    }
}
