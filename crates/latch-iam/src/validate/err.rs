//! What validation finds wrong in a well-formed policy.

/// A problem in a policy's meaning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The condition operator is unknown.
    #[error("unknown condition operator `{0}`")]
    UnknownOperator(String, Option<String>),
    /// A condition value of the wrong type for its operator.
    #[error("`{operator}` cannot compare with `{value}`: expected {expected}")]
    BadConditionValue {
        /// Operator.
        operator: String,
        /// Value.
        value: String,
        /// What the operator takes.
        expected: &'static str,
    },
    /// An action that is not `*` or `service:action`.
    #[error("invalid action `{0}`")]
    BadAction(String),
    /// A service prefix not in the service reference.
    #[error("unknown service `{0}`")]
    UnknownService(String),
    /// An action the service does not have.
    #[error("unknown action `{action}` for service `{service}`")]
    UnknownAction {
        /// The service.
        service: String,
        /// The action.
        action: String,
        /// A close match.
        suggestion: Option<String>,
    },
    /// An ARN with fewer than six parts.
    #[error("ARN `{0}` has fewer than six parts")]
    ShortArn(String),
    /// A condition key the service reference does not know.
    #[error("unknown condition key `{0}`")]
    UnknownConditionKey(String),
    /// A resource that is neither `*` nor an ARN.
    #[error("invalid resource `{0}`")]
    BadResource(String),
    /// `Principal` where the policy type has none.
    #[error("{0} must not contain `Principal` or `NotPrincipal`")]
    UnexpectedPrincipal(&'static str),
    /// No `Principal` where the policy type needs one.
    #[error("every statement of {0} must contain `Principal` or `NotPrincipal`")]
    MissingPrincipal(&'static str),
    /// No `Resource` where the policy type needs one.
    #[error("every statement of {0} must contain `Resource` or `NotResource`")]
    MissingResource(&'static str),
    /// A principal with a partial wildcard.
    #[error("invalid principal `{0}`")]
    BadPrincipal(String),
    /// Two statements with the same Sid.
    #[error("duplicate `Sid` `{0}`")]
    DuplicateSid(String),
    /// Over the size limit for the policy type.
    #[error("policy is {size} characters, over the {limit}-character limit for a {kind}")]
    TooLarge {
        /// Characters, not counting whitespace.
        size: usize,
        /// The limit.
        limit: usize,
        /// The policy type.
        kind: &'static str,
    },
    /// An element or value a resource control policy does not support.
    #[error("a resource control policy does not support {0}")]
    RcpUnsupported(&'static str),
    /// An action that acts on none of the statement's resources: for it, the
    /// statement matches no request.
    #[error("`{action}` acts on none of the statement's resources")]
    ActsOnNoneOfResources {
        /// The action.
        action: String,
        /// The resource types it acts on, with their ARN templates; empty
        /// when it acts on no particular resource.
        types: String,
    },
    /// Policy variables without `Version` 2012-10-17.
    #[error("`{0}` is not expanded as a policy variable without `\"Version\": \"2012-10-17\"`")]
    VariableWithoutVersion(String),
}

impl ValidationError {
    /// How to fix it.
    pub fn help(&self) -> Option<String> {
        use ValidationError::*;
        Some(match self {
            UnknownOperator(_, Some(s)) => format!("did you mean `{s}`?"),
            UnknownOperator(_, None) => "see \"Condition operators\" in the IAM User Guide for the operator names".into(),
            BadConditionValue { .. } => "write a value of the type the operator compares".into(),
            BadAction(_) => "write actions as `service:ActionName`, wildcards allowed, or `*`".into(),
            UnknownService(_) => "check the service prefix in the Service Authorization Reference".into(),
            UnknownAction { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            UnknownAction { .. } => "check the action name in the Service Authorization Reference".into(),
            ShortArn(_) => "write all six parts, `arn:partition:service:region:account:resource`: identity-based policies read missing parts as `*`, other policy types may match nothing".into(),
            UnknownConditionKey(_) => "check the key in \"AWS global condition context keys\" or the service's condition keys; unknown keys are never present in requests".into(),
            BadResource(_) => "write `*` or an ARN `arn:partition:service:region:account:resource`".into(),
            UnexpectedPrincipal(_) => "remove the principal element; it belongs in resource-based policies".into(),
            MissingPrincipal(_) => "add `\"Principal\": {\"AWS\": \"arn:aws:iam::ACCOUNT:root\"}` or similar".into(),
            MissingResource(_) => "add `\"Resource\": \"*\"` or the ARNs the statement covers".into(),
            BadPrincipal(_) => "use `*` alone, an account id, or a full ARN: partial wildcards are not allowed in principals".into(),
            DuplicateSid(_) => "give each statement a unique `Sid`".into(),
            TooLarge { .. } => "split the policy or remove statements".into(),
            RcpUnsupported(_) => "RCPs take `\"Version\": \"2012-10-17\"`, `Deny` statements with `\"Principal\": \"*\"` and `Action` naming services or actions".into(),
            ActsOnNoneOfResources { types, .. } if types.is_empty() => "it acts on no particular resource: write `\"Resource\": \"*\"`".into(),
            ActsOnNoneOfResources { types, .. } => format!("it acts on {types}: add a matching ARN, or correct the action"),
            VariableWithoutVersion(_) => "add `\"Version\": \"2012-10-17\"` at the top of the policy".into(),
        })
    }

    /// Whether AWS accepts the policy anyway.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            ValidationError::VariableWithoutVersion(_)
                | ValidationError::UnknownConditionKey(_)
                | ValidationError::ShortArn(_)
                // IAM accepts actions its reference data does not list (new
                // actions appear before the data knows them); they match no
                // request for a real action, so flag them but keep going.
                | ValidationError::UnknownService(_)
                | ValidationError::UnknownAction { .. }
                // IAM accepts it; the statement just never applies to the
                // action.
                | ValidationError::ActsOnNoneOfResources { .. }
        )
    }
}
