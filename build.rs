//! Embeds libtorch's library folder as an rpath, so that the `latentlab` binary, the tests and the
//! examples find `libtorch_cpu.so` at run time without anybody exporting `LD_LIBRARY_PATH`.
//! torch-sys reports the folder it linked against as `DEP_TCH_LIBTORCH_LIB`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.into());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        println!("cargo:rustc-env=LATENTLAB_LIBTORCH_LIB={}", dir.display());
    }
}
