//! The start-up checks that every program runs before any exchange, fed thousands of
//! mutated experiment files and random bytes: they must never panic or hang, and must answer
//! either a configuration that is really valid or an error that names the file.
//!
//! The fuzz prints its seed and case count; `EDDYLINK_FUZZ_SEED` and `EDDYLINK_FUZZ_CASES`
//! replay or lengthen it. Seeds are every experiment file in the repository. Mutated texts
//! are parsed as if they sat beside their seed (so relative paths, such as the GZ21 weights,
//! resolve as they would); byte-level cases go through a real file and `load`.

mod startup;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eddylink_tests::scratch_dir;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use startup::{repo, start_up, Input};

const DEFAULT_SEED: u64 = 0x00ED_D711_4C0F_F1E5;
const DEFAULT_CASES: usize = 10_000;
/// Longest a single case may take (debug build) before the watchdog calls it a hang.
const CASE_LIMIT: Duration = Duration::from_secs(5);
/// Longest the default fuzz may take (longer runs get as much per case).
const TOTAL_LIMIT: Duration = Duration::from_secs(50);

// ---------------------------------------------------------------------------------------
// Mutations.

/// Values that a mutation writes in place of a key's value (TOML text).
fn dictionary() -> Vec<String> {
    let mut values: Vec<String> = [
        "0",
        "-1",
        "1",
        "1e308",
        "-1e-308",
        "1e-308",
        "nan",
        "inf",
        "-inf",
        "\"\"",
        "\"abc\"",
        "\"1x\"",
        "\"0s\"",
        "\"-6h\"",
        "\"static\"",
        "\"1e5s\"",
        "\"nan h\"",
        "\"inf\"",
        "\"1e308d\"",
        "\"  \"",
        "\"../missing.pth\"",
        "\"/\"",
        "\"cuda:99999999999999999999\"",
        "\"\\u0000\"",
        "\"é∂ø\"",
        "[]",
        "[1, 2, 3]",
        "[0, 0]",
        "[1e308, 1e308]",
        "[\"closed\"]",
        "{}",
        "{ a = 1 }",
        "true",
        "false",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "4294967296",
        "1979-05-27T07:32:00Z",
        "0x7fffffffffffffff",
    ]
    .map(String::from)
    .to_vec();
    values.push(format!("\"{}\"", "x".repeat(20_000)));
    values.push(format!("{}{}", "[".repeat(200), "]".repeat(200)));
    values
}

/// Where the `=` of a line that sets a key (`key = value`, dotted keys included) is.
fn key_end(line: &str) -> Option<usize> {
    let eq = line.find('=')?;
    let key = line[..eq].trim();
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"'));
    ok.then_some(eq)
}

fn is_header(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

/// One random edit of a character string: swap, drop, insert or replace a character.
fn typo(word: &str, rng: &mut StdRng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let n = chars.len();
    let letter = char::from(b'a' + rng.random_range(0..26u8));
    match rng.random_range(0..4) {
        0 if n >= 2 => {
            let i = rng.random_range(0..n - 1);
            chars.swap(i, i + 1);
        }
        1 if n >= 2 => {
            chars.remove(rng.random_range(0..n));
        }
        2 => chars.insert(rng.random_range(0..=n), letter),
        _ if n >= 1 => chars[rng.random_range(0..n)] = letter,
        _ => chars.push(letter),
    }
    chars.into_iter().collect()
}

/// Applies one line-level mutation to `lines`; returns what it did.
fn mutate_lines(lines: &mut Vec<String>, values: &[String], rng: &mut StdRng) -> String {
    let n = lines.len();
    if n == 0 {
        lines.push("[run]".into());
        return "add [run] to an empty file".into();
    }
    let keys: Vec<usize> = (0..n).filter(|&i| key_end(&lines[i]).is_some()).collect();
    let headers: Vec<usize> = (0..n).filter(|&i| is_header(&lines[i])).collect();
    let i = rng.random_range(0..n);
    match rng.random_range(0..6) {
        0 => {
            lines.remove(i);
            format!("delete line {}", i + 1)
        }
        1 => {
            let copy = lines[i].clone();
            let at = rng.random_range(0..=n);
            lines.insert(at, copy);
            format!("copy line {} to {}", i + 1, at + 1)
        }
        2 => {
            let j = rng.random_range(0..n);
            lines.swap(i, j);
            format!("swap lines {} and {}", i + 1, j + 1)
        }
        3 if !keys.is_empty() || !headers.is_empty() => {
            let on_key = headers.is_empty() || (!keys.is_empty() && rng.random_bool(0.8));
            let &k = if on_key { &keys } else { &headers }
                .choose(rng)
                .expect("not empty");
            let line = &lines[k];
            let (start, end) = if on_key {
                (0, key_end(line).expect("a key line"))
            } else {
                let open = line.find('[').expect("a header") + 1;
                (
                    open,
                    line.rfind(']').filter(|&c| c > open).unwrap_or(line.len()),
                )
            };
            let new = typo(&line[start..end], rng);
            let mutated = format!("{}{new}{}", &line[..start], &line[end..]);
            let what = format!("typo on line {}: {:?} → {mutated:?}", k + 1, line.trim());
            lines[k] = mutated;
            what
        }
        4 if !keys.is_empty() => {
            let &k = keys.choose(rng).expect("not empty");
            let value = values.choose(rng).expect("a dictionary");
            let end = key_end(&lines[k]).expect("a key line");
            let what = format!(
                "line {}: value of {} → {}",
                k + 1,
                lines[k][..end].trim(),
                value.chars().take(40).collect::<String>()
            );
            lines[k] = format!("{}= {value}", &lines[k][..end]);
            what
        }
        _ if !keys.is_empty() => {
            let &k = keys.choose(rng).expect("not empty");
            let line = lines.remove(k);
            let to = match headers.choose(rng) {
                Some(&h) if rng.random_bool(0.9) => {
                    if h > k {
                        h
                    } else {
                        h + 1
                    }
                }
                _ => 0,
            };
            lines.insert(to, line);
            format!("move the key on line {} to line {}", k + 1, to + 1)
        }
        _ => {
            lines.remove(i);
            format!("delete line {}", i + 1)
        }
    }
}

/// Byte-level damage: truncation or flipped bytes.
fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut StdRng) -> String {
    if bytes.is_empty() || rng.random_bool(0.4) {
        let at = rng.random_range(0..=bytes.len());
        bytes.truncate(at);
        return format!("truncate at byte {at}");
    }
    let flips = rng.random_range(1..=8);
    for _ in 0..flips {
        let i = rng.random_range(0..bytes.len());
        bytes[i] ^= rng.random_range(1..=255u8);
    }
    format!("flip {flips} bytes")
}

/// Bytes with no seed at all: raw, or drawn from TOML's punctuation and a few words.
fn random_bytes(rng: &mut StdRng) -> (Vec<u8>, String) {
    let len = rng.random_range(0..2048);
    if rng.random_bool(0.5) {
        return (
            (0..len).map(|_| rng.random()).collect(),
            "random bytes".into(),
        );
    }
    const TOKENS: &[&str] = &[
        "[", "]", "[[", "]]", "=", ".", "\"", "'", "\n", " ", "#", "{", "}", ",", "run",
        "coupling", "exchange", "ocean", "ml", "grid", "name", "duration", "period", "1", "-", "e",
        "nan", "\"6h\"", "\"a\"", "\\", "\"\"\"", "é",
    ];
    let text: String = (0..len / 4)
        .map(|_| *TOKENS.choose(rng).expect("tokens"))
        .collect();
    (text.into_bytes(), "random TOML tokens".into())
}

// ---------------------------------------------------------------------------------------
// The fuzz.

fn seeds() -> Vec<(PathBuf, String)> {
    let mut seeds = Vec::new();
    for dir in ["configs", "ocean-model/configs", "ml-server/examples"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("seed is UTF-8");
            seeds.push((path, text));
        }
    }
    assert!(seeds.len() >= 4, "seed experiment files: {seeds:?}");
    seeds
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// SplitMix64: an independent seed per case, so one case replays alone.
fn case_seed(seed: u64, case: usize) -> u64 {
    let mut z = seed.wrapping_add((case as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One generated case: its bytes, how they were made, and whether they go through a file.
struct Case {
    bytes: Vec<u8>,
    what: String,
    seed_path: PathBuf,
    through_file: bool,
}

fn make_case(seeds: &[(PathBuf, String)], values: &[String], rng: &mut StdRng) -> Case {
    let (seed_path, seed_text) = seeds.choose(rng).expect("seeds");
    let name = seed_path
        .strip_prefix(repo())
        .unwrap_or(seed_path)
        .display();
    let roll = rng.random_range(0..100);
    if roll < 5 {
        let (bytes, what) = random_bytes(rng);
        return Case {
            bytes,
            what,
            seed_path: seed_path.clone(),
            through_file: true,
        };
    }
    let mut lines: Vec<String> = seed_text.split('\n').map(String::from).collect();
    let mut steps = Vec::new();
    if roll >= 20 {
        let edits = [1, 1, 1, 1, 2, 2, 3].choose(rng).copied().unwrap_or(1);
        for _ in 0..edits {
            steps.push(mutate_lines(&mut lines, values, rng));
        }
    }
    let mut bytes = lines.join("\n").into_bytes();
    let through_file = roll < 25;
    if through_file {
        steps.push(mutate_bytes(&mut bytes, rng));
    }
    Case {
        bytes,
        what: format!("{name}: {}", steps.join("; ")),
        seed_path: seed_path.clone(),
        through_file,
    }
}

/// Rough class of an error, for the tally: what the first problem is about.
fn kind(message: &str) -> &'static str {
    let has = |s: &str| message.contains(s);
    if has("not valid TOML") {
        "not TOML"
    } else if has("cannot read the experiment file") {
        "unreadable (not UTF-8)"
    } else if has("unknown field") || has("unknown top-level") {
        "unknown key"
    } else if has("unknown variant") {
        "unknown name"
    } else if has("invalid type") || has("invalid length") || has("invalid value") {
        "wrong type"
    } else if has("missing field") || has("missing table") || has("no [") || has("needs an [") {
        "missing key or table"
    } else if has("does not exist") || has("not a file") {
        "missing file"
    } else {
        "out of range"
    }
}

/// What the watchdog sees: the case running now.
#[derive(Default)]
struct Running {
    case: Option<(usize, Instant, String)>,
    bytes: Vec<u8>,
}

/// Aborts the process, with the case and its bytes saved, when a case or the whole run takes
/// too long: a hang would otherwise stall the test instead of failing it.
fn watchdog(
    running: Arc<Mutex<Running>>,
    started: Instant,
    limit: Duration,
    dump: PathBuf,
    replay: String,
) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(100));
        let r = running.lock().unwrap_or_else(|p| p.into_inner());
        let Some((case, since, what)) = &r.case else {
            continue;
        };
        let total = started.elapsed();
        if since.elapsed() > CASE_LIMIT || total > limit + CASE_LIMIT {
            let file = dump.join(format!("hang_{case}.toml"));
            let _ = std::fs::write(&file, &r.bytes);
            eprintln!(
                "config fuzz: case {case} ({what}) has run for {:.1} s ({:.1} s in all): a hang. \
                 Its input is in {}; {replay}",
                since.elapsed().as_secs_f64(),
                total.as_secs_f64(),
                file.display()
            );
            std::process::abort();
        }
    });
}

/// Runs one case through every program's start-up; returns each program's class of answer
/// and what went wrong, if anything.
fn run_case(
    case: usize,
    c: &Case,
    scratch: &Path,
    running: &Mutex<Running>,
) -> (Vec<(&'static str, &'static str)>, Vec<String>) {
    let stem = c
        .seed_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("x");
    // Text is parsed as if it sat beside its seed, so relative paths resolve as in the real
    // file; nothing is written there.
    let (path, text);
    let input = if c.through_file {
        path = scratch.join(format!("{stem}.case.toml"));
        std::fs::write(&path, &c.bytes).expect("scratch is writable");
        Input::File(&path)
    } else {
        path = c.seed_path.with_file_name(format!("{stem}.fuzz.toml"));
        text = String::from_utf8(c.bytes.clone()).expect("line edits keep UTF-8");
        Input::Text {
            path: &path,
            text: &text,
        }
    };
    {
        let mut r = running.lock().expect("watchdog lock");
        r.case = Some((case, Instant::now(), c.what.clone()));
        r.bytes.clone_from(&c.bytes);
    }
    let verdicts = catch_unwind(AssertUnwindSafe(|| start_up(&input)));
    running.lock().expect("watchdog lock").case = None;

    let mut failures = Vec::new();
    let mut fail = |why: String| {
        let file = scratch.join(format!("failed_{case}.toml"));
        let _ = std::fs::write(&file, &c.bytes);
        failures.push(format!(
            "case {case} ({}): {why}; input in {}",
            c.what,
            file.display()
        ));
    };
    let verdicts = match verdicts {
        Ok(v) => v,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            fail(format!("panicked: {message}"));
            return (vec![("any", "panic")], failures);
        }
    };
    for flaw in &verdicts.accepted_but_invalid {
        fail(format!("accepted an invalid configuration: {flaw}"));
    }
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a file name");
    let mut classes = Vec::new();
    for (program, verdict) in [
        ("ocean-model", &verdicts.ocean),
        ("ml-server", &verdicts.ml_serve),
        ("ml-server check", &verdicts.ml_offline),
    ] {
        let class = match verdict {
            Ok(()) => "valid",
            Err(message) if message.trim().is_empty() => {
                fail(format!("{program}: an empty error message"));
                "empty message"
            }
            Err(message) if !message.contains(file_name) => {
                fail(format!(
                    "{program}: the error does not name the file {file_name}: {message}"
                ));
                "message without the file"
            }
            Err(message) => kind(message),
        };
        classes.push((program, class));
    }
    (classes, failures)
}

#[test]
fn start_up_validation_survives_mutated_configs_and_random_bytes() {
    let seed = env_or("EDDYLINK_FUZZ_SEED", DEFAULT_SEED);
    let cases = env_or("EDDYLINK_FUZZ_CASES", DEFAULT_CASES);
    let replay = format!("replay with EDDYLINK_FUZZ_SEED={seed} EDDYLINK_FUZZ_CASES={cases}");
    println!("config fuzz: seed {seed}, {cases} cases ({replay})");
    let seeds = seeds();
    let values = dictionary();
    let scratch = scratch_dir("config-fuzz");
    let limit = TOTAL_LIMIT.mul_f64((cases as f64 / DEFAULT_CASES as f64).max(1.0));
    let started = Instant::now();
    let running = Arc::new(Mutex::new(Running::default()));
    watchdog(
        running.clone(),
        started,
        limit,
        scratch.clone(),
        replay.clone(),
    );

    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in 0..cases {
        let mut rng = StdRng::seed_from_u64(case_seed(seed, case));
        let c = make_case(&seeds, &values, &mut rng);
        let (classes, failed) = run_case(case, &c, &scratch, &running);
        for class in classes {
            *tally.entry(class).or_default() += 1;
        }
        failures.extend(failed);
    }
    let elapsed = started.elapsed();
    println!(
        "config fuzz: {cases} cases in {:.1} s",
        elapsed.as_secs_f64()
    );
    for ((program, class), n) in &tally {
        println!("  {program:16} {class:28} {n:6}");
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed ({replay}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(elapsed < limit, "the fuzz took {elapsed:?}, over {limit:?}");
    for program in ["ocean-model", "ml-server", "ml-server check"] {
        let valid = tally.get(&(program, "valid")).copied().unwrap_or(0);
        let errors: usize = tally
            .iter()
            .filter(|((p, c), _)| *p == program && *c != "valid")
            .map(|(_, n)| n)
            .sum();
        if cases >= 500 {
            assert!(
                valid > cases / 20 && errors > cases / 20,
                "{program}: {valid} valid and {errors} rejected cases: the fuzz should exercise both"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
