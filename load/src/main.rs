//! `cargo run --release -p load -- [--target URL] [--limit all|NAME] …`; see `load --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    load::cli::main(load::cli::Cli::parse())
}
