//! The hand-written header and Fortran module agree with the library: the same functions
//! and the same codes. (The C and Fortran toys in tests/tests/capi.rs compile against both
//! and run them; this test names what differs when one is edited without the others.)

use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every identifier starting with `eddylink_` that is directly followed by `(`.
fn called_names(text: &str, after: &str) -> BTreeSet<String> {
    text.match_indices(after)
        .filter_map(|(at, _)| {
            let rest = &text[at + after.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (name.starts_with("eddylink_") && rest[name.len()..].starts_with(['(', '"']))
                .then_some(name)
        })
        .collect()
}

/// `NAME = VALUE` pairs for the names starting with `prefix` (after `strip`).
fn codes(text: &str, marker: &str, prefix: &str) -> BTreeSet<(String, i32)> {
    text.lines()
        .filter_map(|line| {
            let at = line.find(marker)? + marker.len();
            let rest = line[at..].trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let value = rest[name.len()..]
                .trim_start_matches([' ', '=', ':'])
                .trim_start_matches("i32 = ")
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            let name = name.strip_prefix(prefix)?.to_string();
            Some((name, value))
        })
        .collect()
}

/// The functions the library exports: those written out in src/lib.rs, and the typed
/// exchanges src/exchange.rs makes with `typed_exchange!(type, "c type", put, get)`.
fn exported() -> BTreeSet<String> {
    let mut names = called_names(&read("src/lib.rs"), "extern \"C\" fn ");
    for line in read("src/exchange.rs").lines() {
        if let Some(args) = line.strip_prefix("typed_exchange!(") {
            let args: Vec<&str> = args.trim_end_matches(");").split(',').collect();
            assert_eq!(args.len(), 4, "src/exchange.rs: {line}");
            names.extend(args[2..].iter().map(|a| a.trim().to_string()));
        }
    }
    names
}

#[test]
fn header_declares_exactly_the_exported_functions() {
    let exported = exported();
    let header = read("include/eddylink.h");
    let declared: BTreeSet<String> = [
        called_names(&header, "int "),
        called_names(&header, "size_t "),
        called_names(&header, "char *"),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(exported.len() >= 19, "{exported:?}");
    assert_eq!(
        declared, exported,
        "eddylink.h against src/lib.rs and src/exchange.rs"
    );
}

#[test]
fn fortran_module_binds_every_function_but_the_c_string_one() {
    let mut exported = exported();
    exported.remove("eddylink_last_error"); // a C pointer: Fortran uses eddylink_error_message
    let bound = called_names(&read("fortran/eddylink.f90"), "name=\"");
    assert_eq!(
        bound, exported,
        "eddylink.f90's bind(c) names against src/lib.rs and src/exchange.rs"
    );
}

#[test]
fn header_and_module_give_the_library_s_codes() {
    let rust: BTreeSet<_> = codes(&read("src/error.rs"), "pub const ", "")
        .into_iter()
        .chain(codes(&read("src/layout.rs"), "pub const ", ""))
        .collect();
    let header = codes(&read("include/eddylink.h"), "#define ", "EDDYLINK_");
    let fortran = codes(
        &read("fortran/eddylink.f90"),
        "parameter, public :: ",
        "EDDYLINK_",
    );
    assert!(rust.len() >= 15, "{rust:?}");
    assert_eq!(
        header, rust,
        "eddylink.h #defines against src/error.rs, src/layout.rs"
    );
    let errors: BTreeSet<_> = rust
        .iter()
        .filter(|(n, _)| !n.ends_with("_MAJOR"))
        .cloned()
        .collect();
    assert_eq!(
        fortran, errors,
        "eddylink.f90 parameters against src/error.rs"
    );
}
