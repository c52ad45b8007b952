//! Generates the Tauri context and one `allow-<command>` permission per app
//! command (granted in `capabilities/default.json`), from the one list of
//! command names in `src/commands/names.rs`.

include!("src/commands/names.rs");

fn main() {
    println!("cargo:rerun-if-changed=src/commands/names.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(NAMES)),
    )
    .expect("tauri build step failed");
}
