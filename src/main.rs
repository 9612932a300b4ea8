//! The `backrub` binary: glue over the library's CLI.

fn main() -> std::process::ExitCode {
    backrub::cli::main()
}
