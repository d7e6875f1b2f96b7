//! Fine-grained, resource-level access (seed 000): for one resource ARN
//! and a level (`read`, `write`, `admin`), the least-privilege policy that
//! gives exactly that on that resource, bounded in time.
//!
//! Each level is the one below plus more: `read` reads data and
//! configuration, `write` also changes the data, `admin` may do anything to
//! the resource (including changing who has access). Actions that AWS does
//! not let a policy scope to a resource (`ec2:Describe*`) are the only ones
//! granted on `*`, and only where a level needs them.

use latch_core::access::target::Level;
use serde_json::{json, Value};
use thiserror::Error;

/// Why no policy can be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResourceAccessError {
    /// Not an ARN.
    #[error("`{0}` is not an ARN\nhelp: name the resource by its ARN, e.g. `arn:aws:s3:::my-bucket`")]
    NotAnArn(String),
    /// A service or resource type Latch has no levels for.
    #[error("resource-level access to `{0}` resources is not available\nhelp: request a role or a policy that covers it")]
    Unsupported(String),
}

/// The ARN's parts Latch needs.
struct Arn<'a> {
    service: &'a str,
    resource: &'a str,
}

fn parse(arn: &str) -> Result<Arn<'_>, ResourceAccessError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _partition, service, _region, _account, resource] if !service.is_empty() && !resource.is_empty() => Ok(Arn { service, resource }),
        _ => Err(ResourceAccessError::NotAnArn(arn.to_owned())),
    }
}

fn statement(sid: &str, actions: &[&str], resources: &[String]) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

/// Actions per level, each level adding to the one below.
fn tiered(level: Level, read: &[&'static str], write: &[&'static str], admin: &'static str) -> Vec<&'static str> {
    match level {
        Level::Read => read.to_vec(),
        Level::Write => read.iter().chain(write).copied().collect(),
        Level::Admin => vec![admin],
    }
}

/// The statements for `level` on `arn`, before the time bound.
fn statements(arn: &str, level: Level) -> Result<Vec<Value>, ResourceAccessError> {
    let a = parse(arn)?;
    let unsupported = || ResourceAccessError::Unsupported(format!("{}:{}", a.service, a.resource.split(['/', ':']).next().unwrap_or("")));
    let one = |actions: Vec<&str>| vec![statement("LatchResourceAccess", &actions, &[arn.to_owned()])];
    Ok(match a.service {
        "s3" => {
            // A bucket (`arn:aws:s3:::b`) and its objects (`…/b/*`); an object
            // ARN or prefix (`…:::b/logs/*`) gets object access only.
            let (bucket, objects) = match a.resource.split_once('/') {
                None => (Some(arn.to_owned()), format!("{arn}/*")),
                Some(_) => (None, arn.to_owned()),
            };
            let mut out = Vec::new();
            if let Some(bucket) = bucket {
                let acts = tiered(level, &["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketVersions"], &["s3:ListBucketMultipartUploads"], "s3:*");
                out.push(statement("LatchBucket", &acts, &[bucket]));
            }
            let acts = tiered(
                level,
                &["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"],
                &["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObjectTagging"],
                "s3:*",
            );
            out.push(statement("LatchObjects", &acts, &[objects]));
            out
        }
        "dynamodb" if a.resource.starts_with("table/") => {
            let acts = tiered(
                level,
                &["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"],
                &["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
                "dynamodb:*",
            );
            vec![statement("LatchTable", &acts, &[arn.to_owned(), format!("{arn}/index/*")])]
        }
        "sqs" => one(tiered(
            level,
            &["sqs:ReceiveMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"],
            &["sqs:SendMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
            "sqs:*",
        )),
        "sns" => one(tiered(level, &["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"], &["sns:Publish"], "sns:*")),
        "secretsmanager" => one(tiered(
            level,
            &["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
            &["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"],
            "secretsmanager:*",
        )),
        "kms" if a.resource.starts_with("key/") => one(tiered(
            level,
            &["kms:DescribeKey", "kms:Decrypt"],
            &["kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
            "kms:*",
        )),
        "lambda" if a.resource.starts_with("function:") => one(tiered(
            level,
            &["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:ListVersionsByFunction"],
            &["lambda:InvokeFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"],
            "lambda:*",
        )),
        "ec2" if a.resource.starts_with("instance/") => {
            let mut out = vec![statement("LatchDescribe", &["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"], &["*".to_owned()])];
            match level {
                Level::Read => {}
                Level::Write => out.push(statement("LatchInstance", &["ec2:StartInstances", "ec2:StopInstances", "ec2:RebootInstances"], &[arn.to_owned()])),
                Level::Admin => out.push(statement("LatchInstance", &["ec2:*"], &[arn.to_owned()])),
            }
            out
        }
        _ => return Err(unsupported()),
    })
}

/// The policy giving `level` on `arn` until `until` (ISO 8601, UTC).
pub fn policy_for(arn: &str, level: Level, until: &str) -> Result<Value, ResourceAccessError> {
    let doc = json!({"Version": "2012-10-17", "Statement": statements(arn, level)?});
    // INVARIANT: every statement is an Allow, so bounding cannot fail.
    Ok(crate::provision::bound_policy(&doc, until).unwrap_or(doc))
}

#[cfg(test)]
mod tests {
    use latch_core::access::target::Level;
    use latch_iam::eval::{Context, ContextValue};
    use latch_iam::{decide, CompiledPolicy, EvalInput, Outcome, Request};

    use super::{policy_for, ResourceAccessError};

    const UNTIL: &str = "2026-11-23T12:00:00Z";

    fn allowed(policy: &serde_json::Value, action: &str, resource: &str, now: &str) -> bool {
        let p = CompiledPolicy::parse(&policy.to_string()).unwrap();
        let mut ctx = Context::default();
        ctx.insert("aws:CurrentTime", ContextValue::One(now.into()));
        let req = Request::new(action, resource, Some("111111111111"), "arn:aws:iam::111111111111:user/alice", ctx).unwrap();
        let ps = [p];
        decide(&EvalInput::new(&req, &ps)) == Outcome::Allowed
    }

    /// Each level gives what it says on the resource and nothing elsewhere,
    /// decided by Latch's policy engine.
    #[test]
    fn levels_give_exactly_their_access_on_the_resource() {
        let now = "2026-11-23T11:00:00Z";
        let cases: &[(&str, &str, &str, [bool; 3])] = &[
            // (resource asked for, action, resource acted on, [read, write, admin])
            ("arn:aws:s3:::reports", "s3:GetObject", "arn:aws:s3:::reports/q3.csv", [true, true, true]),
            ("arn:aws:s3:::reports", "s3:ListBucket", "arn:aws:s3:::reports", [true, true, true]),
            ("arn:aws:s3:::reports", "s3:PutObject", "arn:aws:s3:::reports/q3.csv", [false, true, true]),
            ("arn:aws:s3:::reports", "s3:PutBucketPolicy", "arn:aws:s3:::reports", [false, false, true]),
            ("arn:aws:s3:::reports", "s3:GetObject", "arn:aws:s3:::other/q3.csv", [false, false, false]),
            ("arn:aws:s3:::reports/team-a/*", "s3:GetObject", "arn:aws:s3:::reports/team-a/x", [true, true, true]),
            ("arn:aws:s3:::reports/team-a/*", "s3:GetObject", "arn:aws:s3:::reports/team-b/x", [false, false, false]),
            ("arn:aws:dynamodb:us-east-1:111111111111:table/Orders", "dynamodb:Query", "arn:aws:dynamodb:us-east-1:111111111111:table/Orders/index/byDate", [true, true, true]),
            ("arn:aws:dynamodb:us-east-1:111111111111:table/Orders", "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111111111111:table/Orders", [false, true, true]),
            ("arn:aws:dynamodb:us-east-1:111111111111:table/Orders", "dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:111111111111:table/Orders", [false, false, true]),
            ("arn:aws:dynamodb:us-east-1:111111111111:table/Orders", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:111111111111:table/Other", [false, false, false]),
            ("arn:aws:sqs:us-east-1:111111111111:jobs", "sqs:SendMessage", "arn:aws:sqs:us-east-1:111111111111:jobs", [false, true, true]),
            ("arn:aws:sqs:us-east-1:111111111111:jobs", "sqs:DeleteQueue", "arn:aws:sqs:us-east-1:111111111111:jobs", [false, false, true]),
            ("arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf", "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf", [true, true, true]),
            ("arn:aws:kms:us-east-1:111111111111:key/1234", "kms:Encrypt", "arn:aws:kms:us-east-1:111111111111:key/1234", [false, true, true]),
            ("arn:aws:lambda:us-east-1:111111111111:function:build", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111111111111:function:build", [false, true, true]),
            ("arn:aws:ec2:us-east-1:111111111111:instance/i-0abc", "ec2:StopInstances", "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc", [false, true, true]),
            ("arn:aws:ec2:us-east-1:111111111111:instance/i-0abc", "ec2:StopInstances", "arn:aws:ec2:us-east-1:111111111111:instance/i-0def", [false, false, false]),
            ("arn:aws:ec2:us-east-1:111111111111:instance/i-0abc", "ec2:TerminateInstances", "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc", [false, false, true]),
        ];
        for (asked, action, on, want) in cases {
            for (level, expect) in [Level::Read, Level::Write, Level::Admin].into_iter().zip(want) {
                let p = policy_for(asked, level, UNTIL).unwrap();
                assert_eq!(allowed(&p, action, on, now), *expect, "{level:?} on {asked}: {action} {on}");
            }
        }
    }

    #[test]
    fn the_access_ends_at_the_bound_and_the_policy_validates() {
        for asked in ["arn:aws:s3:::reports", "arn:aws:dynamodb:us-east-1:111111111111:table/Orders", "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc"] {
            for level in [Level::Read, Level::Write, Level::Admin] {
                let p = policy_for(asked, level, UNTIL).unwrap();
                let diags = latch_iam::validate_file(&p.to_string(), latch_iam::PolicyType::Identity);
                assert!(diags.iter().all(|d| !d.is_error()), "{asked} {level:?}: {diags:?}");
                assert!(p.to_string().len() <= 2048, "fits a user's inline policies");
            }
        }
        let p = policy_for("arn:aws:s3:::reports", Level::Read, UNTIL).unwrap();
        assert!(allowed(&p, "s3:GetObject", "arn:aws:s3:::reports/a", "2026-11-23T11:59:59Z"));
        assert!(!allowed(&p, "s3:GetObject", "arn:aws:s3:::reports/a", "2026-11-23T12:00:01Z"));
    }

    #[test]
    fn unknown_services_and_non_arns_are_refused_with_help() {
        assert!(matches!(policy_for("reports", Level::Read, UNTIL), Err(ResourceAccessError::NotAnArn(_))));
        let err = policy_for("arn:aws:rds:us-east-1:111111111111:db:main", Level::Read, UNTIL).unwrap_err();
        assert_eq!(err, ResourceAccessError::Unsupported("rds:db".into()));
        assert!(err.to_string().contains("help:"));
    }
}
