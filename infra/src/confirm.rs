//! Asking before doing something that costs money or deletes things: never
//! silently when nobody is at the terminal.

use std::io::{BufRead, IsTerminal, Write};

/// `Ok(true)` when the user typed `expected`; an error when there is no
/// terminal to ask (scripts pass `--yes`).
pub fn ask(question: &str, expected: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{question}\nno terminal to ask on: pass --yes to proceed without asking");
    }
    print!("{question} Type {expected:?} to proceed: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == expected)
}
