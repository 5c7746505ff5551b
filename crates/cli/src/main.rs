//! The `stockwire` binary: parses arguments and hands over to the library.

fn main() -> std::process::ExitCode {
    stockwire_cli::main()
}
