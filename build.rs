//! Makes Cargo rebuild the binary when the configuration or the default pipeline file that
//! `src/config.rs` embeds changes: `include_dir!` alone does not tell Cargo on stable Rust.
//! It must not generate code or read the files: the embedding is `include_dir!`'s job.

fn main() {
    println!("cargo:rerun-if-changed=config");
    println!("cargo:rerun-if-changed=pipelines/nightly.toml");
}
