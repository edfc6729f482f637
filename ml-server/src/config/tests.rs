//! Tests of the `[ml]` table's parsing and validation.

use super::*;

fn parse(text: &str) -> Result<MlConfig, String> {
    parse_in(text, Path::new("/cfg"))
}

fn parse_in(text: &str, base: &Path) -> Result<MlConfig, String> {
    let mut t: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let ml = t.remove("ml").ok_or("no ml")?;
    ml.try_into::<MlConfig>()
        .map_err(|e| e.to_string())?
        .validate(base)
        .map_err(|e| e.to_string())
}

/// A folder holding `w.pth`, which starts as a zip archive does.
fn weights_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ml-config-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("w.pth"), b"PK\x03\x04 not really a model").unwrap();
    dir
}

#[test]
fn gz21_table_parses_with_defaults() {
    let dir = weights_dir("defaults");
    let text = "[ml]\nmodel = \"fullycnn\"\n[ml.fullycnn]\nweights = \"w.pth\"\n";
    let c = parse_in(text, &dir).unwrap();
    assert_eq!(c.device_request().unwrap(), DeviceRequest::Auto);
    assert_eq!(c.precision, Precision::Fp32);
    assert_eq!(c.output, OutputMode::Mean);
    let f = c.fullycnn.unwrap();
    assert_eq!(f.padding, Padding::Valid);
    assert_eq!(f.weights, dir.join("w.pth"));
}

/// Regression: a missing weights file passed validation and surfaced only when the model
/// loaded, as an I/O error that named neither the key nor the experiment file.
#[test]
fn a_missing_or_foreign_model_file_is_named_with_its_key() {
    let dir = weights_dir("missing");
    let text = "[ml]\nmodel = \"fullycnn\"\n[ml.fullycnn]\nweights = \"nope.pth\"\n";
    let e = parse_in(text, &dir).unwrap_err();
    assert!(
        e.contains("[ml.fullycnn] weights")
            && e.contains("nope.pth")
            && e.contains("does not exist"),
        "{e}"
    );
    std::fs::write(dir.join("notes.pth"), "plain text").unwrap();
    let text = "[ml]\nmodel = \"torchscript\"\n[ml.torchscript]\nfile = \"notes.pth\"\n";
    let e = parse_in(text, &dir).unwrap_err();
    assert!(
        e.contains("[ml.torchscript] file") && e.contains("not a zip archive"),
        "{e}"
    );
    // An unused model's table is not checked.
    let text = "[ml]\nmodel = \"analytic\"\n[ml.analytic]\nkind = \"zero\"\n\
                [ml.fullycnn]\nweights = \"nope.pth\"\n";
    parse_in(text, &dir).unwrap();
}

#[test]
fn unknown_key_is_named() {
    let e = parse("[ml]\nmodel = \"analytic\"\ndevise = \"cpu\"\n").unwrap_err();
    assert!(e.contains("devise"), "{e}");
}

#[test]
fn missing_section_and_bad_device_are_both_reported() {
    let e = parse("[ml]\nmodel = \"torchscript\"\ndevice = \"tpu\"\n").unwrap_err();
    assert!(e.contains("[ml.torchscript]") && e.contains("tpu"), "{e}");
}

#[test]
fn stochastic_needs_precision_channels() {
    let e = parse(
        "[ml]\nmodel = \"analytic\"\noutput = \"stochastic\"\n[ml.analytic]\nkind = \"zero\"\n",
    )
    .unwrap_err();
    assert!(e.contains("precision"), "{e}");
}

#[test]
fn a_negative_or_nan_power_cap_is_named() {
    for bad in ["-1e-8", "nan"] {
        let e = parse(&format!(
            "[ml]\nmodel = \"analytic\"\nmax_net_power = {bad}\n[ml.analytic]\nkind = \"zero\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("[ml] max_net_power") && e.contains("≥ 0"), "{e}");
    }
    let c =
        parse("[ml]\nmodel = \"analytic\"\nmax_net_power = 0\n[ml.analytic]\nkind = \"zero\"\n");
    // TOML's integer 0 is taken as 0.0.
    assert_eq!(c.unwrap().max_net_power, Some(0.0));
}

#[test]
fn a_power_cap_by_without_a_cap_is_named() {
    let analytic = "[ml.analytic]\nkind = \"zero\"\n";
    let e = parse(&format!(
        "[ml]\nmodel = \"analytic\"\npower_cap_by = \"drag\"\n{analytic}"
    ))
    .unwrap_err();
    assert!(
        e.contains("[ml] power_cap_by = \"drag\"") && e.contains("max_net_power"),
        "{e}"
    );
    let c = parse(&format!(
        "[ml]\nmodel = \"analytic\"\nmax_net_power = 1e-8\npower_cap_by = \"drag\"\n{analytic}"
    ))
    .unwrap();
    assert_eq!(c.power_cap_by, Some(crate::budget::CapBy::Drag));
}

#[test]
fn cuda_index_parses() {
    let c =
        parse("[ml]\nmodel = \"analytic\"\ndevice = \"cuda:3\"\n[ml.analytic]\nkind = \"zero\"\n")
            .unwrap();
    assert_eq!(c.device_request().unwrap(), DeviceRequest::Cuda(Some(3)));
}
