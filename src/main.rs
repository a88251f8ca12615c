//! The `burgerpeiling` binary: everything lives in the library; see `cli`.

fn main() {
    std::process::exit(burgerpeiling::cli::main());
}
