//! `conformance`: parses arguments and hands them to [`conformance::cli::run`].

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = match conformance::cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let code = runtime.block_on(conformance::cli::run(args));
    std::process::ExitCode::from(code as u8)
}
