//! `faultline`: the server (`faultline serve`) and its command-line client
//! (`faultline search`, `faultline groups`, `faultline report`).

fn main() -> std::process::ExitCode {
    faultline_server::commands::main()
}
