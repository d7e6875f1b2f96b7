//! Condition operator names: `[ForAllValues:|ForAnyValue:]Base[IfExists]`.

/// Declares the operators once: the enum, the list of all of them, and
/// their AWS names (which are the variant names).
macro_rules! base_operators {
    ($($op:ident),* $(,)?) => {
        /// The comparison an operator makes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[expect(missing_docs, reason = "variants are the AWS operator names")]
        pub enum BaseOperator {
            $($op),*
        }

        /// Every base operator, for lookups and generators.
        pub const ALL_BASE_OPERATORS: &[BaseOperator] = &[$(BaseOperator::$op),*];

        impl BaseOperator {
            /// The AWS name.
            pub fn name(self) -> &'static str {
                match self {
                    $(BaseOperator::$op => stringify!($op)),*
                }
            }
        }
    };
}

base_operators! {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl BaseOperator {
    /// Whether the operator is the negation of another: its result for a
    /// present key is "no value matches", and it is true for a missing key.
    pub fn is_negated(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether policy variables may appear in this operator's values.
    pub fn allows_variables(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

/// `ForAllValues:` or `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// `ForAllValues:`: every request value must match.
    ForAllValues,
    /// `ForAnyValue:`: at least one request value must match.
    ForAnyValue,
}

/// A full condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    /// The set qualifier, if any.
    pub set: Option<SetQualifier>,
    /// The comparison.
    pub base: BaseOperator,
    /// Whether `IfExists` was appended.
    pub if_exists: bool,
}

impl Operator {
    /// Parses an operator name. AWS matches operator names without regard to
    /// case; `Null` takes no `IfExists`.
    pub fn parse(text: &str) -> Option<Self> {
        let (set, rest) = if let Some(r) = strip_prefix_ci(text, "ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else if let Some(r) = strip_prefix_ci(text, "ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else {
            (None, text)
        };
        let (base_text, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(cut)
                if rest
                    .get(cut..)
                    .is_some_and(|t| t.eq_ignore_ascii_case("IfExists")) =>
            {
                (rest.get(..cut).unwrap_or(""), true)
            }
            _ => (rest, false),
        };
        let base = ALL_BASE_OPERATORS
            .iter()
            .copied()
            .find(|op| op.name().eq_ignore_ascii_case(base_text))?;
        if if_exists && base == BaseOperator::Null {
            return None;
        }
        Some(Self {
            set,
            base,
            if_exists,
        })
    }

    /// The canonical name.
    pub fn name(&self) -> String {
        let set = match self.set {
            None => "",
            Some(SetQualifier::ForAllValues) => "ForAllValues:",
            Some(SetQualifier::ForAnyValue) => "ForAnyValue:",
        };
        let exists = if self.if_exists { "IfExists" } else { "" };
        format!("{set}{}{exists}", self.base.name())
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operator_names() {
        use BaseOperator::*;
        for (text, want) in [
            ("StringEquals", Some((None, StringEquals, false))),
            ("stringequals", Some((None, StringEquals, false))),
            ("StringLikeIfExists", Some((None, StringLike, true))),
            (
                "ForAllValues:StringEquals",
                Some((Some(SetQualifier::ForAllValues), StringEquals, false)),
            ),
            (
                "ForAnyValue:ArnLikeIfExists",
                Some((Some(SetQualifier::ForAnyValue), ArnLike, true)),
            ),
            ("NullIfExists", None),
            ("StringEqualz", None),
            ("ForSomeValues:StringEquals", None),
            ("IfExists", None),
        ] {
            let got = Operator::parse(text).map(|o| (o.set, o.base, o.if_exists));
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn names_round_trip() {
        for &base in ALL_BASE_OPERATORS {
            for set in [
                None,
                Some(SetQualifier::ForAllValues),
                Some(SetQualifier::ForAnyValue),
            ] {
                for if_exists in [false, base != BaseOperator::Null] {
                    let op = Operator {
                        set,
                        base,
                        if_exists,
                    };
                    assert_eq!(Operator::parse(&op.name()), Some(op));
                }
            }
        }
    }
}
