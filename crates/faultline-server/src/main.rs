//! `faultline`: the server (`faultline serve`) and its command-line client
//! (`faultline search`, `faultline groups`, `faultline report`).

/// mimalloc instead of glibc malloc: allocation and free were about 30 % of
/// the server's self time at 1 % errors (see benches/RESULTS.md,
/// "Allocator and index tuning"). Set here, in the binary only, so the
/// libraries and their tests keep the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    faultline_server::commands::main()
}
