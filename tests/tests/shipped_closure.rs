//! eddylink ships a FullyCNN trained on this ocean: its weights are in the repository, pass
//! `ml-server check` in their experiment (configs/double_gyre_64_learned.toml), and its
//! `[ml]` scales are the ones the model card says the network was trained with.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use eddylink_tests::{run_with_limit, workspace_bin};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// The number after `key =` in the config text.
fn number(text: &str, key: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.split('=').next().is_some_and(|k| k.trim() == key))
        .unwrap_or_else(|| panic!("no `{key} =` line"));
    let value = line
        .split('=')
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .trim();
    value
        .parse()
        .unwrap_or_else(|_| panic!("`{key}` = {value:?} is not a number"))
}

#[test]
fn the_shipped_weights_pass_check_in_their_experiment_with_the_cards_scales() {
    let root = repo();
    let config = root.join("configs/double_gyre_64_learned.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("model = \"fullycnn\""),
        "the learned experiment runs the FullyCNN"
    );
    let weights = root.join("weights/double_gyre_64_fullycnn.safetensors");
    let size = std::fs::metadata(&weights)
        .expect("the weights are in the repository")
        .len();
    assert!(
        size <= 2 * 1024 * 1024,
        "{} is {size} bytes (≤ 2 MiB)",
        weights.display()
    );

    let card: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("weights/double_gyre_64_fullycnn.json"))
            .expect("the model card"),
    )
    .unwrap();
    for key in ["input_scale", "output_scale"] {
        let (in_card, in_config) = (card[key].as_f64().unwrap(), number(&text, key));
        assert!(
            (in_card - in_config).abs() <= 1e-12 * in_card.abs(),
            "{key}: the card says {in_card}, the experiment {in_config}"
        );
    }

    let mut cmd = Command::new(workspace_bin("ml-server"));
    cmd.args(["check", "--config"]).arg(&config);
    let out = run_with_limit(cmd, &root, Duration::from_secs(120));
    assert!(
        out.succeeded(),
        "ml-server check of the learned experiment:\n{}",
        out.output()
    );
    assert!(out.stdout.contains("FullyCNN"), "{}", out.output());
}

#[test]
fn make_run_runs_the_learned_closure_with_the_tuned_factor() {
    let root = repo();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let config = makefile
        .lines()
        .find_map(|l| l.strip_prefix("CONFIG"))
        .and_then(|rest| rest.split("?=").nth(1))
        .map(str::trim)
        .expect("a `CONFIG ?= …` line in the Makefile");
    assert_eq!(config, "configs/double_gyre_64_learned.toml");
    let text = std::fs::read_to_string(root.join(config)).unwrap();
    // docs/science/factor_tuning_choice.md is what `make tune` chose on the training period
    let choice = std::fs::read_to_string(root.join("docs/science/factor_tuning_choice.md"))
        .expect("make tune's choice");
    let chosen: f64 = choice
        .split("chosen: forcing_factor = ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("a chosen factor");
    assert_eq!(number(&text, "forcing_factor"), chosen);
}
