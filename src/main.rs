fn main() -> std::process::ExitCode {
    exo_connect::cli::main()
}
