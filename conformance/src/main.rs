//! `conformance`: parses arguments and hands them to [`conformance::cli::run`].

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = match conformance::cli::Args::try_parse() {
        Ok(a) => a,
        // --help and --version: printed to stdout, exit 0 (a closed stdout is no error).
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", conformance::cli::usage_error_line(&e));
            return std::process::ExitCode::from(conformance::cli::EXIT_COULD_NOT_RUN as u8);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: could not start the async runtime: {e}; free some threads or memory and run again"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let code = runtime.block_on(conformance::cli::run(args));
    std::process::ExitCode::from(code as u8)
}
