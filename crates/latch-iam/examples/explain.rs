//! Prints `latch iam explain` output for each case line on stdin.

use std::io::BufRead;

fn main() -> std::io::Result<()> {
    for line in std::io::stdin().lock().lines() {
        match latch_iam::explain_case(&line?) {
            Ok(text) => println!("{text}"),
            Err(e) => println!("error: {e}"),
        }
    }
    Ok(())
}
