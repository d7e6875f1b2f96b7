//! `latch iam validate` in miniature: validates each file named on the
//! command line as an identity-based policy (or `--type NAME` first).

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut kind = latch_iam::PolicyType::Identity;
    if args.first().map(String::as_str) == Some("--type") {
        if let Some(t) = args.get(1).and_then(|t| latch_iam::PolicyType::parse(t)) {
            kind = t;
        }
        args.drain(..args.len().min(2));
    }
    let mut errors = 0;
    for path in &args {
        let text = std::fs::read_to_string(path)?;
        for d in latch_iam::validate_file(&text, kind) {
            errors += usize::from(d.is_error());
            println!("{}\n", d.render(path));
        }
    }
    std::process::exit(i32::from(errors > 0));
}
