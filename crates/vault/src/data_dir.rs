use std::path::Path;

/// The store's file name in the data directory.
pub const STORE_FILE: &str = "doorstep.sqlite3";

/// Creates the data directory readable by its owner only (on Unix, mode
/// 0700; an existing directory is narrowed to it too).
pub fn create_data_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
