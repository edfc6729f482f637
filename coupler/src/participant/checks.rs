//! What every call checks, and the errors it returns: the state it is made in, the field
//! it names, the size of the caller's array, and the deadline of its waits.

use std::time::{Duration, Instant};

use super::{Coupler, Link, Side, State};
use crate::config::Exchange;
use crate::error::CouplerError;
use crate::link::Layout;
use crate::timing::FieldTiming;

impl Coupler {
    pub(super) fn link(&self, ex: &Exchange, side: Side) -> Link {
        let (field, direction, peer) = match side {
            Side::Send(_) => (&ex.src.field, "put", ex.dst.to_string()),
            Side::Recv(_) => (&ex.dst.field, "get", ex.src.to_string()),
        };
        let timing = FieldTiming {
            field: field.clone(),
            direction,
            peer,
            ..FieldTiming::default()
        };
        Link {
            exchange: ex.clone(),
            side,
            timing,
        }
    }

    pub(super) fn require(
        &self,
        state: State,
        call: &'static str,
        hint: &'static str,
    ) -> Result<(), CouplerError> {
        if self.state == state {
            return Ok(());
        }
        let when = match self.state {
            State::Defining => "before enddef()",
            State::Running => "after enddef()",
            State::Finalized => "after finalize()",
            State::FailedTogether => "after a failed enddef()",
        };
        Err(CouplerError::WrongState { call, when, hint })
    }

    pub(super) fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs_f64(self.config.timeout_s)
    }

    pub(super) fn timeout(&self, what: &str, waited: Duration) -> CouplerError {
        CouplerError::Timeout {
            component: self.component.clone(),
            rank: self.world_rank,
            what: what.to_string(),
            waited_s: waited.as_secs_f64(),
            limit_s: self.config.timeout_s,
        }
    }

    pub(super) fn unknown(&self, field: &str, role: &'static str) -> CouplerError {
        let known: Vec<&str> = self
            .config
            .exchanges
            .iter()
            .filter_map(|ex| match role {
                "send" => (ex.src.component == self.component).then_some(ex.src.field.as_str()),
                _ => (ex.dst.component == self.component).then_some(ex.dst.field.as_str()),
            })
            .collect();
        CouplerError::UnknownField {
            component: self.component.clone(),
            field: field.into(),
            role,
            known: if known.is_empty() {
                "(none)".into()
            } else {
                known.join(", ")
            },
        }
    }

    pub(super) fn receiver_index(&self, field: &str) -> Result<usize, CouplerError> {
        self.links
            .iter()
            .position(|l| matches!(l.side, Side::Recv(_)) && l.exchange.dst.field == field)
            .ok_or_else(|| self.unknown(field, "receive"))
    }

    pub(super) fn box_cells(&self, field: &str, call: &'static str) -> Result<usize, CouplerError> {
        match self.fields.iter().find(|(name, _)| name == field) {
            Some((_, def)) => Ok(def.region.cells()),
            None => Err(self.unknown(field, if call == "put" { "send" } else { "receive" })),
        }
    }

    pub(super) fn check_size(
        &self,
        field: &str,
        layout: Layout,
        given: usize,
        call: &str,
    ) -> Result<(), CouplerError> {
        let contiguous = layout.level_stride == layout.width * layout.height;
        let needed = layout.needed();
        let ok = if contiguous {
            given == needed
        } else {
            given >= needed
        };
        if ok && layout.level_stride >= layout.width * layout.height {
            return Ok(());
        }
        Err(CouplerError::Size {
            component: self.component.clone(),
            field: field.into(),
            rank: self.world_rank,
            given,
            expected: needed,
            detail: format!(
                "{call} takes {} levels of {} rows × {} columns, level stride {}",
                layout.levels, layout.height, layout.width, layout.level_stride
            ),
        })
    }

    pub(super) fn field_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for ex in &self.config.exchanges {
            for end in [&ex.src, &ex.dst] {
                if end.component == self.component && !names.contains(&end.field) {
                    names.push(end.field.clone());
                }
            }
        }
        names
    }

    pub(super) fn component_of(&self, world_rank: i32) -> &str {
        self.components
            .iter()
            .find(|c| c.world_ranks.contains(&world_rank))
            .map_or("?", |c| c.name.as_str())
    }

    pub(super) fn component_ranks(&self, name: &str) -> &[i32] {
        self.components
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.world_ranks.as_slice())
            .unwrap_or(&[])
    }

    /// The world ranks of every other component.
    pub(super) fn peer_ranks(&self) -> Vec<i32> {
        self.components
            .iter()
            .filter(|c| c.name != self.component)
            .flat_map(|c| c.world_ranks.iter().copied())
            .collect()
    }
}
