//! Runs the batch interface (`latch iam simulate --jsonl`) on stdin.

fn main() -> std::io::Result<()> {
    let stats = latch_iam::simulate_jsonl(std::io::stdin().lock(), std::io::stdout().lock())?;
    eprintln!("{stats:?}");
    Ok(())
}
