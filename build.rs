//! Embeds libtorch's library folder as an rpath, so that the `latentlab` binary, the tests and the
//! examples find `libtorch_cpu.so` at run time without anybody exporting `LD_LIBRARY_PATH`.
//! torch-sys reports the folder it linked against as `DEP_TCH_LIBTORCH_LIB`.
//!
//! Where that folder has `libtorch_cuda.so` (the PyPI wheel does), the binary, tests and examples
//! link it too, with `--no-as-needed`: nothing calls it by name (CUDA registers itself when the
//! library loads), so a plain link would drop it and `Cuda::is_available()` would say false even
//! on a GPU machine (tch-rs issue 980). Link arguments do not reach crates that use this one (the
//! notebook kernel's cell libraries; stable Rust has no `-as-needed` link modifier), so
//! `runtime::device` also loads the library before it asks for CUDA. On a machine without a GPU
//! the library loads and reports no device.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.into());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        println!("cargo:rustc-env=LATENTLAB_LIBTORCH_LIB={}", dir.display());
        if dir.join("libtorch_cuda.so").exists() {
            println!(
                "cargo:rustc-link-arg=-Wl,--no-as-needed,{},--as-needed",
                dir.join("libtorch_cuda.so").display()
            );
        }
    }
}
