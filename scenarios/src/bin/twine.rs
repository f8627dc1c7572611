//! The `twine` command line. Everything lives in `twine_scenarios::cli`.

fn main() -> std::process::ExitCode {
    twine_scenarios::cli::main()
}
