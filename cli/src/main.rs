//! The `endure` binary.
//!
//! It will carry `endure server start-dev`, the `workflow` and `namespace` commands and
//! `endure bench` (see `README.md`). Today it only reports its version.

use std::process::ExitCode;

const USAGE: &str = "usage: endure --version

The server, workflow, namespace and bench commands are not built yet; see README.md.";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--version" | "-V" | "version"] => {
            println!("endure {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        ["--help" | "-h" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
