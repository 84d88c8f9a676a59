//! Enables `cfg(facecast_default_glb)` when the default avatar asset exists, so the crate builds
//! before the asset is generated (builtin() then returns a placeholder).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(facecast_default_glb)");
    println!("cargo:rerun-if-changed=assets/facecast_default.glb");
    println!("cargo:rerun-if-changed=assets");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/facecast_default.glb");
    if path.is_file() {
        println!("cargo:rustc-cfg=facecast_default_glb");
    }
}
