//! Per-field timings: time inside put, time waiting in get, bytes moved, exchanges made,
//! and their reduction over a component's ranks at finalize.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use serde::Serialize;

/// What one rank measured for one field.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldTiming {
    pub field: String,
    /// "put" or "get".
    pub direction: &'static str,
    /// The other end of the exchange, `component.field`.
    pub peer: String,
    /// Calls of put/get on the field.
    pub calls: u64,
    /// Calls that moved data (coupling times).
    pub exchanges: u64,
    /// Seconds spent inside put (packing and posting), or waiting inside get.
    pub seconds: f64,
    /// Bytes this rank sent or received for the field.
    pub bytes: u64,
}

impl FieldTiming {
    /// Counts one put that started at `start` and gave `sent`: the bytes it sent at a
    /// coupling time, nothing off them, or how long it waited before timing out.
    pub(crate) fn record_call<E>(
        &mut self,
        start: Instant,
        sent: Result<Option<u64>, E>,
    ) -> Result<(), E> {
        self.calls += 1;
        self.seconds += start.elapsed().as_secs_f64();
        if let Some(bytes) = sent? {
            self.exchanges += 1;
            self.bytes += bytes;
        }
        Ok(())
    }
}

/// The timings of one component, reduced over its ranks: times are the maximum over ranks,
/// bytes the sum, calls and exchanges those of rank 0.
#[derive(Debug, Clone, Serialize)]
pub struct TimingReport {
    pub component: String,
    pub ranks: usize,
    /// Wall time from init to finalize on the component's rank 0, in seconds.
    pub wall_seconds: f64,
    pub fields: Vec<FieldTiming>,
    /// Resident memory, largest over the component's ranks.
    pub memory: Memory,
}

/// Resident set size (MB, largest over a component's ranks) at three points of the run:
/// growth between the first exchange and the end is what a leak looks like.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    pub at_enddef_mb: f64,
    pub after_first_get_mb: f64,
    pub at_finalize_mb: f64,
}

/// This process's resident set size in MB (0 where /proc is not available).
pub fn resident_mb() -> f64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
    pages * page / 1e6
}

/// The component's report from each rank's `fields` (in the same order on every rank):
/// collective over `local`, the component's communicator. `started` is when this rank
/// joined the job, `memory` what it measured so far (its size at finalize is read here).
pub(crate) fn reduce(
    local: &SimpleCommunicator,
    component: &str,
    mut fields: Vec<FieldTiming>,
    started: Instant,
    memory: Memory,
) -> TimingReport {
    for t in &mut fields {
        let mut seconds = 0.0f64;
        let mut bytes = 0u64;
        local.all_reduce_into(&t.seconds, &mut seconds, SystemOperation::max());
        local.all_reduce_into(&t.bytes, &mut bytes, SystemOperation::sum());
        t.seconds = seconds;
        t.bytes = bytes;
    }
    let mut wall = started.elapsed().as_secs_f64();
    let mine = wall;
    local.all_reduce_into(&mine, &mut wall, SystemOperation::max());
    let mine = [
        memory.at_enddef_mb,
        memory.after_first_get_mb,
        resident_mb(),
    ];
    let mut most = [0.0f64; 3];
    local.all_reduce_into(&mine[..], &mut most[..], SystemOperation::max());
    TimingReport {
        component: component.to_string(),
        ranks: local.size() as usize,
        wall_seconds: wall,
        fields,
        memory: Memory {
            at_enddef_mb: most[0],
            after_first_get_mb: most[1],
            at_finalize_mb: most[2],
        },
    }
}

impl TimingReport {
    /// A fixed-width table for logs.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "coupler timings for '{}' ({} ranks, {:.2} s wall):",
            self.component, self.ranks, self.wall_seconds
        );
        let _ = writeln!(
            s,
            "  {:<12} {:<4} {:<16} {:>8} {:>9} {:>11} {:>7} {:>12}",
            "field", "dir", "peer", "calls", "exchanges", "seconds", "% wall", "MB moved"
        );
        for f in &self.fields {
            let share = 100.0 * f.seconds / self.wall_seconds.max(1e-12);
            let _ = writeln!(
                s,
                "  {:<12} {:<4} {:<16} {:>8} {:>9} {:>11.4} {:>7.2} {:>12.3}",
                f.field,
                f.direction,
                f.peer,
                f.calls,
                f.exchanges,
                f.seconds,
                share,
                f.bytes as f64 / 1e6
            );
        }
        let m = self.memory;
        let _ = writeln!(
            s,
            "  resident memory (largest rank): {:.1} MB at enddef, {:.1} MB after the first get, {:.1} MB at finalize",
            m.at_enddef_mb, m.after_first_get_mb, m.at_finalize_mb
        );
        s
    }

    /// Writes the report as JSON to `dir/coupler_timing_<component>.json`.
    pub fn write_json(&self, dir: &Path) -> std::io::Result<std::path::PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("coupler_timing_{}.json", self.component));
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, text)?;
        Ok(path)
    }
}
