//! Ledgerline desktop shell (placeholder while the core lands).

pub fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("error while running tauri application");
}
