//! The bad configurations the project promises to catch before any exchange, one row each:
//! a typo in every table gets a "did you mean", and every out-of-range value, period that
//! does not divide the run, levels mismatch and missing file gets a message that names the
//! file, the key path, the bad value and what is expected.

mod startup;

use std::time::Duration;

use eddylink_tests::{mpiexec, run_with_limit, scratch_dir, workspace_bin};
use startup::{repo, start_up, Input};

/// The program whose start-up must reject the edit.
#[derive(Clone, Copy, Debug)]
enum Program {
    Ocean,
    MlServe,
    MlOffline,
}
use Program::*;

/// One bad edit of a seed experiment file and what the message must contain besides the
/// file's name.
struct Bad {
    what: &'static str,
    seed: &'static str,
    /// The first occurrence of `.0` is replaced by `.1`.
    edit: (&'static str, &'static str),
    programs: &'static [Program],
    says: &'static [&'static str],
}

const DEFAULT: &str = "configs/double_gyre_64.toml";
const GZ21: &str = "configs/double_gyre_gz21.toml";
const OFFLINE: &str = "ml-server/examples/gz21_offline.toml";

const CASES: &[Bad] = &[
    Bad {
        what: "a typo in [run]",
        seed: DEFAULT,
        edit: ("duration = \"180d\"", "duraton = \"180d\""),
        programs: &[Ocean, MlServe],
        says: &[
            "run.duraton: unknown field `duraton`",
            "did you mean `duration`?",
        ],
    },
    Bad {
        what: "a typo in [coupling]",
        seed: DEFAULT,
        edit: ("timeout = \"120s\"", "timout = \"120s\""),
        programs: &[Ocean, MlServe],
        says: &[
            "coupling.timout: unknown field `timout`",
            "did you mean `timeout`?",
        ],
    },
    Bad {
        what: "a typo in [[coupling.exchange]]",
        seed: DEFAULT,
        edit: ("period = \"2h\"", "perido = \"2h\""),
        programs: &[Ocean, MlServe],
        says: &[
            "coupling.exchange[0].perido: unknown field `perido`",
            "did you mean `period`?",
        ],
    },
    Bad {
        what: "a misspelt value in [[coupling.exchange]]",
        seed: DEFAULT,
        edit: ("op = \"instant\"", "op = \"instnat\""),
        programs: &[Ocean, MlServe],
        says: &[
            "coupling.exchange[0].op: unknown variant `instnat`",
            "did you mean `instant`?",
        ],
    },
    Bad {
        what: "a typo in [ocean.physics]",
        seed: DEFAULT,
        edit: ("bottom_drag = 1e-5", "bottom_darg = 1e-5"),
        programs: &[Ocean],
        says: &[
            "ocean.physics.bottom_darg: unknown field `bottom_darg`",
            "did you mean `bottom_drag`?",
        ],
    },
    Bad {
        what: "a typo in an [ocean.*] table name",
        seed: DEFAULT,
        edit: ("[ocean.grid]", "[ocean.gird]"),
        programs: &[Ocean],
        says: &["ocean.gird: unknown field `gird`", "did you mean `grid`?"],
    },
    Bad {
        what: "a typo in [ml]",
        seed: DEFAULT,
        edit: ("device = \"auto\"", "devcie = \"auto\""),
        programs: &[MlServe, MlOffline],
        says: &[
            "ml.devcie: unknown field `devcie`",
            "did you mean `device`?",
        ],
    },
    Bad {
        what: "a typo in [ml.fullycnn]",
        seed: OFFLINE,
        edit: ("padding = \"valid\"", "paddin = \"valid\""),
        programs: &[MlOffline],
        says: &[
            "ml.fullycnn.paddin: unknown field `paddin`",
            "did you mean `padding`?",
        ],
    },
    Bad {
        what: "a typo in [ml.analytic]",
        seed: DEFAULT,
        edit: ("kind = \"backscatter\"", "knid = \"backscatter\""),
        programs: &[MlServe, MlOffline],
        says: &[
            "ml.analytic.knid: unknown field `knid`",
            "did you mean `kind`?",
        ],
    },
    Bad {
        what: "a negative run length",
        seed: DEFAULT,
        edit: ("duration = \"180d\"", "duration = \"-180d\""),
        programs: &[Ocean, MlServe],
        says: &["run.duration: -15552000 s: the run length must be positive"],
    },
    Bad {
        what: "a zero ocean grid",
        seed: DEFAULT,
        edit: ("nx = 64 ", "nx = 0 "),
        programs: &[Ocean],
        says: &["ocean.grid.nx = 0: allowed range 8..=32768"],
    },
    Bad {
        what: "a zero coupling grid",
        seed: DEFAULT,
        edit: ("grid = [64, 64]", "grid = [0, 64]"),
        programs: &[Ocean, MlServe],
        says: &["coupling.grid: [0, 64]: expected [nx, ny], each between 1 and 1048576"],
    },
    Bad {
        what: "a negative depth",
        seed: DEFAULT,
        edit: ("depth = 500.0", "depth = -500.0"),
        programs: &[Ocean],
        says: &["ocean.physics.depth = -500 m: must be finite and > 0"],
    },
    Bad {
        what: "a halo too large",
        seed: DEFAULT,
        edit: ("halo = 1 ", "halo = 5000 "),
        programs: &[Ocean, MlServe],
        says: &["coupling.exchange[0].halo: 5000: expected at most 1000 cells"],
    },
    Bad {
        what: "zero levels in an exchange",
        seed: DEFAULT,
        edit: ("levels = 1   ", "levels = 0   "),
        programs: &[Ocean, MlServe],
        says: &["coupling.exchange[0].levels: 0: expected between 1 and 100000"],
    },
    Bad {
        what: "zero levels in [ocean.grid]",
        seed: DEFAULT,
        edit: (
            "levels = 1                   # levels",
            "levels = 0 # levels",
        ),
        programs: &[Ocean],
        says: &["ocean.grid.levels = 0: the shallow-water physics has exactly 1 level"],
    },
    Bad {
        what: "a period that does not divide the run",
        seed: DEFAULT,
        edit: ("period = \"2h\"", "period = \"7h\""),
        programs: &[Ocean, MlServe],
        says: &[
            "coupling.exchange[0].period: 25200 s does not divide the run length \
             run.duration = 15552000 s",
        ],
    },
    Bad {
        what: "a period that is not a whole number of ocean steps",
        seed: DEFAULT,
        edit: ("period = \"2h\"", "period = \"1000s\""),
        programs: &[Ocean],
        says: &["coupling.exchange[0].period = 1000 s (ocean.u → ml.u): \
             must be a whole number of ocean time steps dt = 288 s"],
    },
    Bad {
        what: "exchange levels that differ from [ocean.grid] levels",
        seed: DEFAULT,
        edit: ("levels = 1   ", "levels = 2   "),
        programs: &[Ocean],
        says: &["coupling.exchange[0].levels = 2 (ocean.u → ml.u): \
             must be the ocean's ocean.grid.levels = 1"],
    },
    Bad {
        what: "a coupling grid that is not the ocean's",
        seed: DEFAULT,
        edit: ("grid = [64, 64]", "grid = [64, 32]"),
        programs: &[Ocean],
        says: &["coupling.grid = [64, 32]: must be the ocean's grid, ocean.grid nx, ny = [64, 64]"],
    },
    Bad {
        what: "an output_dir that cannot be made",
        seed: DEFAULT,
        edit: ("output_dir = \"out\"", "output_dir = \"/dev/null/out\""),
        programs: &[Ocean],
        says: &["run.output_dir = \"/dev/null/out\": /dev/null is a file, so the run directory /dev/null/out/double_gyre_64 cannot be made"],
    },
    Bad {
        what: "a grid beyond any machine's memory",
        seed: DEFAULT,
        edit: (
            "nx = 64                      # cells in x\nny = 64 ",
            "nx = 32768\nny = 32768 ",
        ),
        programs: &[Ocean],
        says: &["invalid ocean parameters:\n  ocean.grid: nx × ny = 32768 × 32768 (1.074e9 cells) \
                needs about 247 GB"],
    },
    Bad {
        what: "a missing weights file",
        seed: GZ21,
        edit: ("gz21/trained_model.pth", "gz21/absent_model.pth"),
        programs: &[MlServe],
        says: &[
            "[ml.fullycnn] weights = \"",
            "gz21/absent_model.pth\": the file does not exist",
        ],
    },
    Bad {
        what: "a missing weights file (offline)",
        seed: OFFLINE,
        edit: ("gz21/trained_model.pth", "gz21/absent_model.pth"),
        programs: &[MlOffline],
        says: &[
            "[ml.fullycnn] weights = \"",
            "gz21/absent_model.pth\": the file does not exist",
        ],
    },
];

#[test]
fn each_promised_bad_config_is_caught_with_file_key_value_and_expectation() {
    let mut wrong = Vec::new();
    for bad in CASES {
        let seed = repo().join(bad.seed);
        let text = std::fs::read_to_string(&seed).expect("the seed exists");
        assert!(
            text.contains(bad.edit.0),
            "{}: {:?} is no longer in {}",
            bad.what,
            bad.edit.0,
            bad.seed
        );
        let text = text.replacen(bad.edit.0, bad.edit.1, 1);
        // Beside the seed, so the relative weights path resolves as in the real file.
        let path = seed.with_file_name("edited.toml");
        let verdicts = start_up(&Input::Text {
            path: &path,
            text: &text,
        });
        for &program in bad.programs {
            let verdict = match program {
                Ocean => &verdicts.ocean,
                MlServe => &verdicts.ml_serve,
                MlOffline => &verdicts.ml_offline,
            };
            let message = match verdict {
                Ok(()) => {
                    wrong.push(format!("{} ({program:?}): accepted", bad.what));
                    continue;
                }
                Err(m) => m,
            };
            let missing: Vec<&str> = std::iter::once("edited.toml")
                .chain(bad.says.iter().copied())
                .filter(|s| !message.contains(s))
                .collect();
            if !missing.is_empty() {
                wrong.push(format!(
                    "{} ({program:?}): {missing:?} not in:\n{message}",
                    bad.what
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// The unedited seeds pass every check of the programs that read them, and what they give
/// is really valid: the table above fails for its edits alone.
#[test]
fn the_seed_files_are_accepted() {
    let gz21_weights = repo().join("../shared/gz21/trained_model.pth").is_file();
    if !gz21_weights {
        eddylink_tests::skip::skip(
            "the ML checks of the GZ21 seeds: no ../shared/gz21/trained_model.pth",
        );
    }
    let seeds: &[(&str, &[Program])] = &[
        (DEFAULT, &[Ocean, MlServe, MlOffline]),
        ("ocean-model/configs/double_gyre.toml", &[Ocean]),
        (
            GZ21,
            if gz21_weights {
                &[Ocean, MlServe, MlOffline]
            } else {
                &[Ocean]
            },
        ),
        (OFFLINE, if gz21_weights { &[MlOffline] } else { &[] }),
    ];
    for &(seed, programs) in seeds {
        let verdicts = start_up(&Input::File(&repo().join(seed)));
        for program in programs {
            let verdict = match program {
                Ocean => &verdicts.ocean,
                MlServe => &verdicts.ml_serve,
                MlOffline => &verdicts.ml_offline,
            };
            assert!(verdict.is_ok(), "{seed} ({program:?}): {verdict:?}");
        }
        assert!(
            verdicts.accepted_but_invalid.is_empty(),
            "{seed}: {:?}",
            verdicts.accepted_but_invalid
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_is_named() {
    let dir = scratch_dir("config-errors-utf8");
    let file = dir.join("latin1.toml");
    std::fs::write(&file, b"[run]\nname = \"caf\xe9\"\n").expect("scratch");
    let verdicts = start_up(&Input::File(&file));
    for verdict in [verdicts.ocean, verdicts.ml_serve, verdicts.ml_offline] {
        let message = verdict.expect_err("not UTF-8");
        assert!(
            message.contains("latin1.toml: cannot read the experiment file")
                && message.contains("valid UTF-8"),
            "{message}"
        );
    }
}

/// The ocean binary prints its [ocean] and cross-table errors with the file's name (the
/// start-up path above reproduces what its `main` adds to `resolve`'s errors).
#[test]
fn the_ocean_binary_names_the_file_of_a_bad_ocean_table() {
    let dir = scratch_dir("config-errors-binary");
    let text = std::fs::read_to_string(repo().join(DEFAULT)).expect("the default config");
    let file = dir.join("bad_depth.toml");
    std::fs::write(&file, text.replacen("depth = 500.0", "depth = -500.0", 1)).expect("scratch");
    let mut cmd = mpiexec();
    cmd.args(["-n", "1"])
        .arg(workspace_bin("ocean-model"))
        .arg("--config")
        .arg(&file);
    let out = run_with_limit(cmd, &dir, Duration::from_secs(60));
    assert_eq!(out.code, Some(2), "{}", out.output());
    let expected = format!(
        "error: {}: invalid ocean parameters:\n  ocean.physics.depth = -500 m: must be finite and > 0",
        file.display()
    );
    assert!(out.stderr.contains(&expected), "{}", out.output());
}

/// The real binaries, for every row edited from the default experiment (its relative paths
/// need no neighbours): each prints the same message as the start-up functions above, with
/// a usage exit code, under mpiexec for the coupled programs.
#[test]
fn the_binaries_print_what_their_start_up_functions_say() {
    let dir = scratch_dir("config-errors-binaries");
    let text = std::fs::read_to_string(repo().join(DEFAULT)).expect("the default config");
    let mut wrong = Vec::new();
    for (k, bad) in CASES.iter().filter(|b| b.seed == DEFAULT).enumerate() {
        let file = dir.join(format!("edited{k}.toml"));
        std::fs::write(&file, text.replacen(bad.edit.0, bad.edit.1, 1)).expect("scratch");
        let program = bad.programs[0];
        let mut cmd = match program {
            Ocean | MlServe => {
                let mut cmd = mpiexec();
                let bin = if matches!(program, Ocean) {
                    "ocean-model"
                } else {
                    "ml-server"
                };
                cmd.args(["-n", "1"]).arg(workspace_bin(bin));
                cmd
            }
            MlOffline => {
                let mut cmd = std::process::Command::new(workspace_bin("ml-server"));
                cmd.arg("check");
                cmd
            }
        };
        cmd.arg("--config").arg(&file);
        let out = run_with_limit(cmd, &dir, Duration::from_secs(60));
        let expected_code = if matches!(program, MlOffline) { 1 } else { 2 };
        let name = format!("edited{k}.toml");
        let missing: Vec<&str> = std::iter::once(name.as_str())
            .chain(bad.says.iter().copied())
            .filter(|s| !out.stderr.contains(s))
            .collect();
        if out.code != Some(expected_code) || !missing.is_empty() {
            wrong.push(format!(
                "{} ({program:?}): exit {:?}, {missing:?} missing:\n{}",
                bad.what,
                out.code,
                out.output()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
