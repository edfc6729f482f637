//! The TrueType font of the figures' text, read at run time (no fontconfig, no freetype).
//!
//! `$EDDYLINK_FONT` names the file when set (and nothing else is tried); otherwise the
//! first of [`PREFERRED`] found under the usual font folders, else any `.ttf` there.
//! The font is registered with plotters once per process, as its "sans-serif" family.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

/// Environment variable naming a `.ttf` file for the figures' text.
pub const FONT_VAR: &str = "EDDYLINK_FONT";

/// File names tried first, in order.
const PREFERRED: [&str; 6] = [
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "NotoSans-Regular.ttf",
    "FreeSans.ttf",
    "Arial.ttf",
    "Roboto-Regular.ttf",
];

/// Whether the figures can have text: finds and registers a font on the first call and
/// logs one warning, saying how to set [`FONT_VAR`], when there is none.
pub fn text_available() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| match register_first(&candidates()) {
        Ok(path) => {
            tracing::debug!("plot text in {}", path.display());
            true
        }
        Err(why) => {
            tracing::warn!(
                "{why}: the figures are drawn without text; set {FONT_VAR} to a TrueType \
                 font file (e.g. DejaVuSans.ttf) to label them"
            );
            false
        }
    })
}

/// The font files to try, best first.
fn candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os(FONT_VAR) {
        return vec![PathBuf::from(path)];
    }
    let mut dirs = vec![
        PathBuf::from("/usr/share/fonts"),
        PathBuf::from("/usr/local/share/fonts"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        dirs.extend([home.join(".fonts"), home.join(".local/share/fonts")]);
    }
    let mut found = Vec::new();
    for dir in &dirs {
        collect_ttf(dir, 6, &mut found);
    }
    found.sort();
    let rank = |p: &PathBuf| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        PREFERRED
            .iter()
            .position(|&pref| pref == name)
            .unwrap_or(PREFERRED.len())
    };
    found.sort_by_key(rank);
    found
}

/// Every `.ttf` file under `dir`, at most `depth` folders down.
fn collect_ttf(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        if path.is_dir() && depth > 0 {
            collect_ttf(&path, depth - 1, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ttf"))
        {
            out.push(path);
        }
    }
}

/// Register the first usable file of `paths`; the error says why none was.
fn register_first(paths: &[PathBuf]) -> Result<PathBuf, String> {
    let mut last = format!(
        "no TrueType font found under /usr/share/fonts, /usr/local/share/fonts or ~/.fonts \
         and {FONT_VAR} is not set"
    );
    for path in paths {
        match register(path) {
            Ok(()) => return Ok(path.clone()),
            Err(why) => last = format!("font {}: {why}", path.display()),
        }
    }
    Err(last)
}

fn register(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // sfnt versions of TrueType (1.0, "true") and OpenType ("OTTO") outlines.
    let magic = bytes.get(..4).unwrap_or_default();
    if ![&[0, 1, 0, 0][..], b"true", b"OTTO"].contains(&magic) {
        return Err("not a TrueType or OpenType font".into());
    }
    // plotters keeps fonts for the life of the process: leak this one file, once.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| "not a font that ab_glyph can read".to_string())
}
