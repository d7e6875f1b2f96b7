//! Who-can over a generated inventory: 10,000 users and roles with 50,000
//! identity policies (plus trust and bucket policies), seeded. Prints the
//! build time and, per action, the who-can time (p50), against the anchor
//! measured in the same run: the engine deciding every principal with no
//! index. The anchor's allowed set must equal who-can's.
//!
//! Run: `cargo bench -p latch-iam --bench who_can`.
//! `LATCH_IAM_BENCH_PRINCIPALS` scales the inventory (default 10000; five
//! identity policies per principal).

use std::collections::{BTreeSet, HashMap};
use std::error::Error;
use std::time::{Duration, Instant};

use latch_iam::effective::{
    GroupSpec, InlinePolicy, Inventory, ManagedPolicy, ResourcePolicy, RoleSpec, Sources, UserSpec,
};
use latch_iam::eval::{Context, ContextValue};
use latch_iam::{decide, CompiledPolicy, EvalInput, Outcome, Policy, PolicyType, Request};

const SERVICES: [&str; 40] = [
    "s3",
    "ec2",
    "iam",
    "lambda",
    "dynamodb",
    "sqs",
    "sns",
    "kms",
    "logs",
    "cloudwatch",
    "rds",
    "ecr",
    "ecs",
    "eks",
    "sts",
    "secretsmanager",
    "ssm",
    "cloudformation",
    "route53",
    "elasticloadbalancing",
    "autoscaling",
    "kinesis",
    "firehose",
    "glue",
    "athena",
    "redshift",
    "elasticache",
    "es",
    "apigateway",
    "cognito-idp",
    "events",
    "states",
    "codebuild",
    "codepipeline",
    "codecommit",
    "acm",
    "waf",
    "guardduty",
    "config",
    "backup",
];
const VERBS: [&str; 9] = [
    "Get*",
    "List*",
    "Describe*",
    "Put*",
    "*",
    "GetObject",
    "PutItem",
    "PassRole",
    "Decrypt",
];
const ACCOUNTS: usize = 5;
const TEAMS: usize = 20;

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// Skewed towards the start, as real policies favour a few services.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u) * n as f64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs.get(self.below(xs.len())).copied().unwrap_or_default()
    }
}

fn account(i: usize) -> String {
    format!("{:012}", 100_000_000_000 + i % ACCOUNTS)
}

fn statement(rng: &mut Rng, n: usize) -> String {
    let svc = SERVICES
        .get(rng.skewed(SERVICES.len()))
        .copied()
        .unwrap_or("s3");
    let acct = account(rng.below(ACCOUNTS));
    let effect = if rng.chance(0.08) { "Deny" } else { "Allow" };
    let action = if rng.chance(0.003) {
        r#""Action":"*""#.to_owned()
    } else if rng.chance(0.002) {
        r#""NotAction":["iam:*","organizations:*"]"#.to_owned()
    } else {
        let k = 1 + rng.below(3);
        let acts: Vec<String> = (0..k)
            .map(|_| format!(r#""{svc}:{}""#, rng.pick(&VERBS)))
            .collect();
        format!(r#""Action":[{}]"#, acts.join(","))
    };
    let m = rng.below(n / 20 + 1);
    let resource = match rng.below(8) {
        0 | 1 => "*".to_owned(),
        2 => format!("arn:aws:{svc}:*:{acct}:*"),
        3 => format!("arn:aws:s3:::bucket-{}/*", m % 500),
        4 => format!("arn:aws:s3:::bucket-{}/${{aws:username}}/*", m % 500),
        5 => format!("arn:aws:iam::{acct}:role/role-{m}"),
        6 => format!("arn:aws:dynamodb:us-east-1:{acct}:table/t-{}", m % 100),
        _ => format!("arn:aws:kms:us-east-1:{acct}:key/k-{}", m % 100),
    };
    let condition = match rng.below(30) {
        0 => format!(
            r#","Condition":{{"StringEquals":{{"aws:PrincipalTag/team":"team-{}"}}}}"#,
            rng.below(TEAMS)
        ),
        1 => r#","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#.to_owned(),
        2 => r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#.to_owned(),
        _ => String::new(),
    };
    format!(r#"{{"Effect":"{effect}",{action},"Resource":"{resource}"{condition}}}"#)
}

fn policy(rng: &mut Rng, n: usize) -> String {
    let k = 1 + rng.below(4);
    let s: Vec<String> = (0..k).map(|_| statement(rng, n)).collect();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        s.join(",")
    )
}

fn trust(rng: &mut Rng, i: usize, users: usize, roles: usize) -> String {
    let who = match rng.below(20) {
        0..=9 => r#"{"Service":"lambda.amazonaws.com"}"#.to_owned(),
        10..=14 => format!(r#"{{"AWS":"arn:aws:iam::{}:root"}}"#, account(i)),
        15..=17 => {
            let u = rng.below(users);
            let r = rng.below(roles);
            format!(
                r#"{{"AWS":["arn:aws:iam::{}:user/user-{u}","arn:aws:iam::{}:role/role-{r}"]}}"#,
                account(u),
                account(r)
            )
        }
        _ => format!(r#"{{"AWS":"{}"}}"#, account(i + 1)),
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{who},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn generate(seed: u64, principals: usize) -> Sources {
    let mut rng = Rng(seed);
    let (users, roles) = (principals * 6 / 10, principals - principals * 6 / 10);
    let managed_n = principals;
    let groups_n = principals / 30 + 1;
    let mut src = Sources::default();
    let mpolicy = |i: usize| format!("arn:aws:iam::{}:policy/p-{i}", account(i));
    for i in 0..managed_n {
        let document = policy(&mut rng, principals);
        src.managed_policies.push(ManagedPolicy {
            arn: mpolicy(i),
            document,
        });
    }
    let group = |i: usize| format!("arn:aws:iam::{}:group/g-{i}", account(i));
    for i in 0..groups_n {
        src.groups.push(GroupSpec {
            arn: group(i),
            inline_policies: vec![InlinePolicy {
                name: "inline".into(),
                document: policy(&mut rng, principals),
            }],
            managed_policies: (0..1 + rng.below(2))
                .map(|_| mpolicy(rng.below(managed_n)))
                .collect(),
        });
    }
    // Five identity policies per principal on average: one managed (the
    // managed set is shared), the rest inline.
    let inline = |rng: &mut Rng| -> Vec<InlinePolicy> {
        (0..1 + rng.below(7))
            .map(|k| InlinePolicy {
                name: format!("inline-{k}"),
                document: policy(rng, principals),
            })
            .collect()
    };
    let boundary = |rng: &mut Rng| rng.chance(0.15).then(|| mpolicy(rng.below(managed_n)));
    for i in 0..users {
        src.users.push(UserSpec {
            arn: format!("arn:aws:iam::{}:user/user-{i}", account(i)),
            id: Some(format!("AIDA{i:08}")),
            tags: vec![("team".into(), format!("team-{}", i % TEAMS))],
            groups: (0..rng.below(3))
                .map(|_| group(rng.below(groups_n)))
                .collect(),
            inline_policies: inline(&mut rng),
            managed_policies: (0..rng.below(3))
                .map(|_| mpolicy(rng.below(managed_n)))
                .collect(),
            permissions_boundary: boundary(&mut rng),
        });
    }
    for i in 0..roles {
        src.roles.push(RoleSpec {
            arn: format!("arn:aws:iam::{}:role/role-{i}", account(i)),
            id: Some(format!("AROA{i:08}")),
            tags: vec![("team".into(), format!("team-{}", i % TEAMS))],
            trust_policy: trust(&mut rng, i, users, roles),
            inline_policies: inline(&mut rng),
            managed_policies: (0..rng.below(3))
                .map(|_| mpolicy(rng.below(managed_n)))
                .collect(),
            permissions_boundary: boundary(&mut rng),
        });
    }
    for b in 0..500 {
        let who: Vec<String> = (0..1 + rng.below(3))
            .map(|_| match rng.below(3) {
                0 => format!(r#""{}""#, account(rng.below(ACCOUNTS))),
                1 => {
                    let u = rng.below(users);
                    format!(r#""arn:aws:iam::{}:user/user-{u}""#, account(u))
                }
                _ => {
                    let r = rng.below(roles);
                    format!(r#""arn:aws:iam::{}:role/role-{r}""#, account(r))
                }
            })
            .collect();
        src.resource_policies.push(ResourcePolicy {
            resource: format!("arn:aws:s3:::bucket-{b}"),
            unreadable: None,
            account: Some(account(b)),
            document: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":[{}]}},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-{b}/*"}}]}}"#,
                who.join(",")
            ),
        });
    }
    src
}

/// The anchor: every principal decided by the engine, no index.
struct Naive {
    policies: HashMap<String, CompiledPolicy>,
    inline: HashMap<(String, String), CompiledPolicy>,
    resources: HashMap<String, CompiledPolicy>,
}

fn compile(doc: &str, kind: PolicyType) -> Result<CompiledPolicy, Box<dyn Error>> {
    Ok(CompiledPolicy::for_type(Policy::parse(doc)?, kind))
}

impl Naive {
    fn new(src: &Sources) -> Result<Self, Box<dyn Error>> {
        let mut n = Naive {
            policies: HashMap::new(),
            inline: HashMap::new(),
            resources: HashMap::new(),
        };
        for m in &src.managed_policies {
            n.policies
                .insert(m.arn.clone(), compile(&m.document, PolicyType::Identity)?);
        }
        let owners = src.users.iter().map(|u| (&u.arn, &u.inline_policies));
        let owners = owners.chain(src.roles.iter().map(|r| (&r.arn, &r.inline_policies)));
        for (owner, list) in owners.chain(src.groups.iter().map(|g| (&g.arn, &g.inline_policies))) {
            for p in list {
                n.inline.insert(
                    (owner.clone(), p.name.clone()),
                    compile(&p.document, PolicyType::Identity)?,
                );
            }
        }
        for r in &src.resource_policies {
            n.resources.insert(
                r.resource.clone(),
                compile(&r.document, PolicyType::Resource)?,
            );
        }
        Ok(n)
    }

    fn who_can(
        &self,
        src: &Sources,
        action: &str,
        resource: &str,
        account: &str,
        base: &Context,
    ) -> Result<BTreeSet<String>, Box<dyn Error>> {
        let groups: HashMap<&str, &GroupSpec> =
            src.groups.iter().map(|g| (g.arn.as_str(), g)).collect();
        let bucket = resource.split('/').next().unwrap_or(resource);
        let rp = self.resources.get(bucket);
        let mut out = BTreeSet::new();
        let entities = src.users.iter().map(|u| {
            (
                &u.arn,
                &u.inline_policies,
                &u.managed_policies,
                u.groups.as_slice(),
                &u.permissions_boundary,
                &u.tags,
                true,
            )
        });
        let entities = entities.chain(src.roles.iter().map(|r| {
            (
                &r.arn,
                &r.inline_policies,
                &r.managed_policies,
                &[] as &[String],
                &r.permissions_boundary,
                &r.tags,
                false,
            )
        }));
        for (arn, inline, managed, member_of, boundary, tags, is_user) in entities {
            let mut ids: Vec<&CompiledPolicy> = Vec::new();
            let mut add = |owner: &String, inline: &[InlinePolicy], managed: &[String]| {
                ids.extend(
                    inline
                        .iter()
                        .filter_map(|p| self.inline.get(&(owner.clone(), p.name.clone()))),
                );
                ids.extend(managed.iter().filter_map(|m| self.policies.get(m)));
            };
            add(arn, inline, managed);
            for g in member_of.iter().filter_map(|g| groups.get(g.as_str())) {
                add(&g.arn, &g.inline_policies, &g.managed_policies);
            }
            let bounds: Vec<&CompiledPolicy> = boundary
                .iter()
                .filter_map(|b| self.policies.get(b))
                .collect();
            let (acct, name) = (
                arn.split(':').nth(4).unwrap_or(""),
                arn.rsplit('/').next().unwrap_or(""),
            );
            let mut ctx = base.clone();
            ctx.insert("aws:PrincipalArn", ContextValue::One(arn.clone()));
            ctx.insert("aws:PrincipalAccount", ContextValue::One(acct.into()));
            for (k, v) in tags {
                ctx.insert(
                    &format!("aws:PrincipalTag/{k}"),
                    ContextValue::One(v.clone()),
                );
            }
            let caller = if is_user {
                ctx.insert("aws:username", ContextValue::One(name.into()));
                arn.clone()
            } else {
                format!("arn:aws:sts::{acct}:assumed-role/{name}/s")
            };
            let req = Request::new(action, resource, Some(account), &caller, ctx)?;
            let input = EvalInput {
                request: &req,
                identity_policies: ids.as_slice(),
                resource_policy: rp,
                permission_boundaries: bounds.as_slice(),
                session_policy: None,
                scps: None,
                rcps: None,
            };
            if decide(&input) == Outcome::Allowed {
                out.insert(arn.clone());
            }
        }
        Ok(out)
    }
}

fn p50(mut xs: Vec<Duration>) -> Duration {
    xs.sort_unstable();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn main() -> Result<(), Box<dyn Error>> {
    let n = std::env::var("LATCH_IAM_BENCH_PRINCIPALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let src = generate(0x5eed_1a7c, n);
    let identity = src.managed_policies.len()
        + src
            .users
            .iter()
            .map(|u| u.inline_policies.len())
            .sum::<usize>()
        + src
            .roles
            .iter()
            .map(|r| r.inline_policies.len())
            .sum::<usize>()
        + src
            .groups
            .iter()
            .map(|g| g.inline_policies.len())
            .sum::<usize>();
    let t = Instant::now();
    let inv = Inventory::build(&src)?;
    let build = t.elapsed();
    println!(
        "inventory: {} principals, {} groups, {identity} identity policies, {} policies compiled in all (with trust and bucket policies); {} problems",
        inv.principal_count(), src.groups.len(), inv.policy_count(), inv.problems().len()
    );
    println!("build: {build:.2?}");
    let naive = Naive::new(&src)?;
    let mut base = Context::default();
    base.insert(
        "aws:MultiFactorAuthPresent",
        ContextValue::One("true".into()),
    );
    base.insert("aws:SourceIp", ContextValue::One("10.1.2.3".into()));
    let a0 = account(0);
    let queries = [
        (
            "s3:GetObject",
            "arn:aws:s3:::bucket-5/user-5/report.csv".to_owned(),
            account(5),
        ),
        (
            "iam:PassRole",
            format!("arn:aws:iam::{a0}:role/role-10"),
            a0.clone(),
        ),
        (
            "dynamodb:PutItem",
            format!("arn:aws:dynamodb:us-east-1:{a0}:table/t-3"),
            a0.clone(),
        ),
        (
            "kms:Decrypt",
            format!("arn:aws:kms:us-east-1:{a0}:key/k-7"),
            a0.clone(),
        ),
        (
            "backup:StartBackupJob",
            format!("arn:aws:backup:us-east-1:{a0}:backup-vault:v"),
            a0.clone(),
        ),
    ];
    for (action, resource, owner) in &queries {
        let mut times = Vec::new();
        let mut direct = Vec::new();
        let mut found = Vec::new();
        for _ in 0..11 {
            let t = Instant::now();
            found = inv.who_can(action, resource, &base)?;
            times.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(inv.who_can_directly(action, resource, &base)?);
            direct.push(t.elapsed());
        }
        let mut anchor = Vec::new();
        let mut want = BTreeSet::new();
        for _ in 0..3 {
            let t = Instant::now();
            want = naive.who_can(&src, action, resource, owner, &base)?;
            anchor.push(t.elapsed());
        }
        let got: BTreeSet<String> = found.iter().map(|f| f.principal.clone()).collect();
        let paths: usize = found.iter().map(|f| f.assumed_by.len()).sum();
        let (full, fast, slow) = (p50(times), p50(direct), p50(anchor));
        println!(
            "{action} on {resource}: {} allowed, {paths} assume paths; same allowed set as the anchor: {}",
            found.len(),
            if got == want { "yes" } else { "NO" },
        );
        println!(
            "  who_can_directly p50 {fast:.2?}; anchor (engine on every principal, no index) p50 {slow:.2?}: {:.1}x; who_can with assume paths p50 {full:.2?}",
            slow.as_secs_f64() / fast.as_secs_f64().max(1e-9),
        );
    }
    Ok(())
}
