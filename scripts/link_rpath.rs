//! Build script shared by every package that links MPI or libtorch.
//!
//! Records the library folders chosen by `scripts/setup.sh` (through the generated
//! `.cargo/config.toml`) as an rpath, so the binaries run without `LD_LIBRARY_PATH`.
//! Packages that use tch also link `libtorch_cuda` with `--no-as-needed`, as tch
//! documents: otherwise the linker drops it and libtorch never sees the GPU.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=EDDYLINK_MPI_LIBDIRS");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=../scripts/link_rpath.rs");

    for dir in env::var("EDDYLINK_MPI_LIBDIRS")
        .unwrap_or_default()
        .split(':')
    {
        if !dir.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
    }
    let links_torch = env::var("CARGO_PKG_NAME").is_ok_and(|p| {
        p == "ml-server"
            || p == "ocean-model"
            || p == "closure"
            || p == "eddylink-tests"
            || p == "analysis"
    });
    if let (true, Ok(libtorch)) = (links_torch, env::var("LIBTORCH")) {
        let lib = Path::new(&libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        if lib.join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-search=native={}", lib.display());
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-ltorch_cuda");
            println!("cargo:rustc-link-arg=-Wl,--as-needed");
        }
    }
}
