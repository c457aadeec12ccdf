/// A frame predicate being built from firewall terms, kept as a tcpdump expression. `never` and
/// `always` are folded away, so a term without conditions, or terms that cannot be reached, leave
/// no trace in the program.
enum FramePredicate: Equatable {
    case never, always
    case expression(String)

    /// libpcap's `and` and `or` bind equally tightly (left to right), so every operand is parenthesized.
    static func && (left: FramePredicate, right: FramePredicate) -> FramePredicate {
        switch (left, right) {
        case (.never, _), (_, .never): .never
        case (.always, let other), (let other, .always): other
        case (.expression(let a), .expression(let b)): .expression("(\(a)) and (\(b))")
        }
    }

    static func || (left: FramePredicate, right: FramePredicate) -> FramePredicate {
        switch (left, right) {
        case (.always, _), (_, .always): .always
        case (.never, let other), (let other, .never): other
        case (.expression(let a), .expression(let b)): .expression("(\(a)) or (\(b))")
        }
    }

    static prefix func ! (predicate: FramePredicate) -> FramePredicate {
        switch predicate {
        case .never: .always
        case .always: .never
        case .expression(let a): .expression("not (\(a))")
        }
    }
}

extension FirewallFilter.Term {
    /// The term's `from`: every condition, each any of its values; no condition matches everything.
    var match: FramePredicate {
        conditions.reduce(.always) { matched, condition in
            matched && condition.alternatives.map { FramePredicate.expression($0) }.reduce(.never, ||)
        }
    }
}

extension FirewallFilter {
    /// The frames this filter mirrors to `instance`: those whose first matching term mirrors there
    /// (`mirrorsTo(term)` says where a term mirrors, nil for nowhere). Term i decides a frame that
    /// matches it and no earlier term, so from the last term back:
    ///     after the last term: never;  mirroring term: M or rest;  any other term: not M and rest.
    /// Within the family only (`ip` or `ip6`), as the filter sees only its family's packets.
    func selecting(_ instance: String, mirrorsTo: (Term) -> String?) -> FramePredicate {
        let decided = terms.reversed().reduce(FramePredicate.never) { rest, term in
            mirrorsTo(term) == instance ? term.match || rest : !term.match && rest
        }
        return .expression(family.expression) && decided
    }
}
