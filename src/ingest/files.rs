//! Which files a call loads: folders expanded into the data files they
//! hold, each file named for its table by the mapping, the comp plan book
//! told apart.

use std::path::{Path, PathBuf};

use super::IngestError;
use super::source::Format;

/// The file name of the comp plan book in a folder.
pub const PLAN_FILE: &str = "comp_plans.toml";

pub(super) fn is_plan_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Expands folders into the data files they hold (sorted by name), keeps
/// files as given.
pub(super) fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let mut out = Vec::new();
    for path in paths {
        let io = |source| IngestError::Io {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && (Format::of(p).is_some()
                            || p.file_name().is_some_and(|n| n == PLAN_FILE))
                })
                .collect();
            entries.sort();
            out.extend(entries);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

pub(super) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
