//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// `shared/` beside the project (as CI lays it out), else `$BURGERPEILING_SHARED`.
pub fn shared() -> PathBuf {
    let beside = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared"));
    if beside.is_dir() {
        return beside;
    }
    std::env::var_os("BURGERPEILING_SHARED")
        .map(PathBuf::from)
        .expect("shared/ is neither beside the project nor named by BURGERPEILING_SHARED")
}
