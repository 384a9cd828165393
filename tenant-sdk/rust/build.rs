// Finds the SDK runtime built for glibc (tenant-sdk/lib, made by `make`)
// for the crate's #[link]; cargo then bundles it into the rlib.
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("..")
        .join("lib");
    let lib = dir.join("libkvmfpm-glibc.a");
    if !lib.exists() {
        panic!("{} is missing: run `make` in the kvm-fpm tree first", lib.display());
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rerun-if-changed={}", lib.display());
}
