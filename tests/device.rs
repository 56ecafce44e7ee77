//! The device choice: libtorch's CUDA library linked into the binary where the wheel has it, and
//! a clear error for a CUDA device on a machine without one.

use latentlab::runtime::{select_device, DeviceChoice};
use std::process::Command;

#[test]
fn the_binary_needs_libtorch_cuda_where_the_wheel_has_it() {
    let Some(dir) = latentlab::runtime::libtorch_lib() else {
        return;
    };
    if !std::path::Path::new(dir).join("libtorch_cuda.so").exists() {
        eprintln!("this libtorch has no CUDA library: nothing to check");
        return;
    }
    let Ok(out) = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_latentlab")])
        .output()
    else {
        panic!("readelf is needed for this test (binutils)");
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[libtorch_cuda.so]"),
        "latentlab does not list libtorch_cuda.so as NEEDED:\n{text}"
    );
    // And the library loads in this process (the notebooks' path to it).
    assert_eq!(latentlab::runtime::load_cuda(), Ok(true));
}

#[test]
fn device_values_are_strict() {
    for (s, want) in [
        ("auto", DeviceChoice::Auto),
        ("", DeviceChoice::Auto),
        ("CPU", DeviceChoice::Cpu),
        ("cuda", DeviceChoice::Cuda(0)),
        ("cuda:3", DeviceChoice::Cuda(3)),
    ] {
        assert_eq!(s.parse::<DeviceChoice>(), Ok(want), "{s}");
    }
    for bad in ["gpu", "cuda:", "cuda:-1", "cuda:x", "1"] {
        let err = bad.parse::<DeviceChoice>().unwrap_err();
        assert!(err.contains("auto, cpu, cuda or cuda:N"), "{bad}: {err}");
    }
    assert_eq!(select_device(DeviceChoice::Cpu).unwrap(), tch::Device::Cpu);
}

#[test]
fn cuda_without_a_gpu_fails_with_the_reason() {
    if tch::Cuda::is_available() {
        eprintln!("this machine has CUDA: the CPU-machine check does not apply");
        return;
    }
    let err = format!("{:#}", select_device(DeviceChoice::Cuda(0)).unwrap_err());
    assert!(
        err.contains("cuda:0 is not usable")
            && (err.contains("no NVIDIA driver")
                || err.contains("no CUDA device")
                || err.contains("without CUDA")
                || err.contains("did not load")),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_latentlab"))
        .args([
            "--device",
            "cuda",
            "gan",
            "sample",
            "--from",
            "data/checkpoints/gan-gan",
        ])
        .args(["--out", "/nonexistent-dir/never-written.idx"])
        .current_dir(latentlab::runtime::repo_root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("cuda:0 is not usable") && msg.contains("--device cpu"),
        "{msg}"
    );
    assert_eq!(select_device(DeviceChoice::Auto).unwrap(), tch::Device::Cpu);
}
