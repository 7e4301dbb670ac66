//! The stores embed their migrations as a list in the binary (`protocol-bank migrate` needs no
//! files beside it), so a file added to `migrations/` but not to the list would never run, and
//! nothing else would notice.

use std::path::Path;

/// Every `NNNN_name.sql` in `dir` is among `embedded` (the store's known versions), and nothing
/// else is.
pub fn assert_every_file_embedded(dir: &Path, embedded: &[i64]) {
    let mut files: Vec<i64> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| {
            let name = f.expect("a directory entry").file_name().to_string_lossy().into_owned();
            let version = name.split('_').next().and_then(|v| v.parse().ok());
            version.unwrap_or_else(|| panic!("{name}: not NNNN_name.sql"))
        })
        .collect();
    files.sort_unstable();
    let mut embedded = embedded.to_vec();
    embedded.sort_unstable();
    assert_eq!(files, embedded, "{}: the files and the embedded list differ", dir.display());
}
