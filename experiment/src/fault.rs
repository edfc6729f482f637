//! Fault injection for the fault-tolerance tests and for rehearsing failures on a cluster.
//!
//! `EDDYLINK_FAULT` holds comma-separated faults, each `COMPONENT:ACTION@POINT`:
//!
//! ```text
//! EDDYLINK_FAULT=ml:kill@3           the ML server SIGKILLs itself at its 3rd coupling call
//! EDDYLINK_FAULT=ocean:panic@120     the ocean panics at step 120
//! EDDYLINK_FAULT=ml:nan@2            the ML server's 2nd forcing is NaN
//! EDDYLINK_FAULT=ml:exit@init        the ML server exits with code 3 before enddef
//! ```
//!
//! Actions: `panic`, `exit` (code 3, no clean-up), `kill` (SIGKILL), `hang` (sleep
//! forever: a silent peer), and the corruptions `nan`, `inf` and `huge` (×1e6), which the
//! component applies to the data it sends ([`Fault::corruption`]). Points: a step or call
//! number counted from 1 (what it counts is the component's choice: the ocean counts
//! steps, the ML server coupling calls), or `init` (before enddef). Every MPI launcher
//! passes the environment to all ranks, so the component name picks who fails; add
//! `/RANK` to the component (`ml/1:kill@2`) to fail one rank of it only. With `[ml]
//! placement = "embedded"` the `ml` faults act on the model inside the ocean ranks (`/RANK`
//! is then the ocean rank).

use std::fmt;

/// The environment variable read by [`Faults::from_env`].
pub const ENV: &str = "EDDYLINK_FAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Panic,
    Exit,
    Kill,
    Hang,
    Nan,
    Inf,
    Huge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Init,
    At(u64),
}

/// One fault for this rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub action: Action,
    pub point: Point,
}

/// The faults that apply to one rank of one component.
#[derive(Debug, Clone, Default)]
pub struct Faults(Vec<Fault>);

/// What a corruption does to the values it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    Nan,
    Inf,
    Huge,
}

impl Corruption {
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Corruption::Nan => f32::NAN,
            Corruption::Inf => f32::INFINITY,
            Corruption::Huge => x * 1e6 + 1.0,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Panic => "panic",
            Action::Exit => "exit",
            Action::Kill => "kill",
            Action::Hang => "hang",
            Action::Nan => "nan",
            Action::Inf => "inf",
            Action::Huge => "huge",
        })
    }
}

impl Faults {
    /// The faults of `EDDYLINK_FAULT` that apply to rank `rank` of `component`; an
    /// unreadable value is an error naming the variable and the expected form.
    pub fn from_env(component: &str, rank: usize) -> Result<Faults, String> {
        match std::env::var(ENV) {
            Ok(text) => Self::parse(&text, component, rank),
            Err(_) => Ok(Faults::default()),
        }
    }

    /// See [`Faults::from_env`].
    pub fn parse(text: &str, component: &str, rank: usize) -> Result<Faults, String> {
        let mut mine = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = |why: &str| {
                format!(
                    "{ENV}='{text}': '{item}' {why}; expected COMPONENT[/RANK]:ACTION@POINT, ACTION one of panic, exit, kill, hang, nan, inf, huge and POINT a number from 1 or 'init'"
                )
            };
            let (who, what) = item.split_once(':').ok_or_else(|| bad("has no ':'"))?;
            let (action, point) = what.split_once('@').ok_or_else(|| bad("has no '@'"))?;
            let (name, only_rank) = match who.split_once('/') {
                Some((n, r)) => (
                    n,
                    Some(r.parse::<usize>().map_err(|_| bad("has a bad rank"))?),
                ),
                None => (who, None),
            };
            let action = match action {
                "panic" => Action::Panic,
                "exit" => Action::Exit,
                "kill" => Action::Kill,
                "hang" => Action::Hang,
                "nan" => Action::Nan,
                "inf" => Action::Inf,
                "huge" => Action::Huge,
                _ => return Err(bad("has an unknown action")),
            };
            let point = match point {
                "init" => Point::Init,
                n => match n.parse::<u64>() {
                    Ok(n) if n >= 1 => Point::At(n),
                    _ => return Err(bad("has a bad point")),
                },
            };
            if name == component && only_rank.is_none_or(|r| r == rank) {
                mine.push(Fault { action, point });
            }
        }
        Ok(Faults(mine))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Carries out the panic, exit, kill or hang due at `point`; returns otherwise.
    pub fn trigger(&self, point: Point, component: &str) {
        for f in self.0.iter().filter(|f| f.point == point) {
            let at = match point {
                Point::Init => "init".to_string(),
                Point::At(n) => n.to_string(),
            };
            let what = format!("injected fault ({ENV}): {component} {}@{at}", f.action);
            match f.action {
                Action::Panic => panic!("{what}"),
                Action::Exit => {
                    coupler::say!("{what}: exiting with code 3");
                    std::process::exit(3)
                }
                Action::Kill => {
                    coupler::say!("{what}: SIGKILL");
                    // SAFETY: sends a signal to this very process.
                    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                }
                Action::Hang => {
                    coupler::say!("{what}: going silent");
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(3600));
                    }
                }
                Action::Nan | Action::Inf | Action::Huge => {}
            }
        }
    }

    /// The corruption due at `point`, if any.
    pub fn corruption(&self, point: Point) -> Option<Corruption> {
        self.0
            .iter()
            .filter(|f| f.point == point)
            .find_map(|f| match f.action {
                Action::Nan => Some(Corruption::Nan),
                Action::Inf => Some(Corruption::Inf),
                Action::Huge => Some(Corruption::Huge),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_faults_of_this_rank_only() {
        let f = Faults::parse("ml:kill@3, ocean/1:panic@init,ml/0:nan@2", "ml", 1).unwrap();
        assert_eq!(
            f.0,
            vec![Fault {
                action: Action::Kill,
                point: Point::At(3)
            }]
        );
        let f = Faults::parse("ocean/1:panic@init", "ocean", 1).unwrap();
        assert_eq!(f.0[0].point, Point::Init);
        assert_eq!(
            Faults::parse("ml:nan@2", "ml", 0)
                .unwrap()
                .corruption(Point::At(2)),
            Some(Corruption::Nan)
        );
        assert!(Faults::parse("", "ml", 0).unwrap().is_empty());
    }

    #[test]
    fn a_bad_value_names_the_variable_and_the_form() {
        for bad in [
            "ml",
            "ml:kill",
            "ml:boom@1",
            "ml:kill@0",
            "ml:kill@x",
            "ml/a:kill@1",
        ] {
            let e = Faults::parse(bad, "ml", 0).unwrap_err();
            assert!(
                e.contains("EDDYLINK_FAULT") && e.contains("COMPONENT"),
                "{e}"
            );
        }
    }
}
