//! The handle behind `eddylink_coupler *`: a [`Coupler`] plus what the OASIS-style calls
//! add to it — partitions and variables by integer id, the transposition of row-major
//! arrays, and the MPI initialisation the library did itself.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use coupler::launch::{self, Intent};
use coupler::Element;
use coupler::{Coupler, CouplerError, CouplingConfig, FieldDef, Region};
use experiment::ExperimentFile;
use mpi::ffi;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::error::CapiError;
use crate::layout::{column_to_row, row_to_column, Layout, Shape};

/// Whether this library called `MPI_Init` (then `finalize` calls `MPI_Finalize`).
static OWNS_MPI: AtomicBool = AtomicBool::new(false);

/// One `eddylink_def_var`: a field of the component on a partition.
#[derive(Debug, Clone)]
struct Var {
    name: String,
    part: usize,
    levels: usize,
}

/// A component's coupler with its OASIS-style ids. Ids are 1-based indices.
pub struct Handle {
    cpl: Coupler,
    component: String,
    world_rank: i32,
    partitions: Vec<Region>,
    vars: Vec<Var>,
    scratch_f32: Vec<f32>,
    scratch_f64: Vec<f64>,
    /// Whether enddef succeeded: puts and gets check it before the array's shape, whose
    /// receive side is only known after enddef.
    running: bool,
}

/// The element types of the ABI, each with its scratch array in the handle.
pub trait Value: Element + Default {
    fn scratch(handle: &mut Handle) -> &mut Vec<Self>;
}

impl Value for f32 {
    fn scratch(handle: &mut Handle) -> &mut Vec<f32> {
        &mut handle.scratch_f32
    }
}

impl Value for f64 {
    fn scratch(handle: &mut Handle) -> &mut Vec<f64> {
        &mut handle.scratch_f64
    }
}

/// Initialises MPI unless the program (or an earlier call) did.
pub fn ensure_mpi(call: &'static str) -> Result<(), CapiError> {
    if mpi::environment::is_initialized() {
        return Ok(());
    }
    // SAFETY: MPI_Init with null argc/argv is allowed since MPI-2; MPI is not initialised.
    let rc = unsafe { ffi::MPI_Init(std::ptr::null_mut(), std::ptr::null_mut()) };
    if rc != 0 {
        return Err(CapiError::Mpi {
            call,
            message: format!("MPI_Init failed with code {rc}"),
        });
    }
    OWNS_MPI.store(true, Ordering::SeqCst);
    Ok(())
}

/// The C handle of the communicator whose Fortran handle is `fcomm`.
pub fn comm_from_fortran(fcomm: i32) -> ffi::MPI_Comm {
    // SAFETY: MPI_Comm_f2c accepts any integer; an invalid one gives MPI_COMM_NULL or an
    // invalid handle that the next MPI call reports.
    unsafe { ffi::RSMPI_Comm_f2c(fcomm) }
}

/// The rank of this process in, and the size of, the communicator `fcomm` (Fortran handle).
pub fn rank_and_size(fcomm: i32) -> Result<(i32, i32), CapiError> {
    let call = "eddylink_comm_rank_size";
    if !mpi::environment::is_initialized() {
        return Err(CapiError::argument(
            call,
            "MPI is not initialised: call eddylink_init first",
        ));
    }
    let comm = comm_from_fortran(fcomm);
    let (mut rank, mut size) = (0, 0);
    // SAFETY: `comm` came from MPI_Comm_f2c; MPI reports a bad handle through its code.
    let rc = unsafe { ffi::MPI_Comm_rank(comm, &mut rank) | ffi::MPI_Comm_size(comm, &mut size) };
    if rc != 0 {
        return Err(CapiError::Mpi {
            call,
            message: format!("communicator {fcomm} (Fortran handle) is not valid (MPI code {rc})"),
        });
    }
    Ok((rank, size))
}

/// Reads the `[coupling]` table of `experiment`; the reason why not names the file.
fn coupling_of(experiment: &Path) -> Result<CouplingConfig, String> {
    let exp = ExperimentFile::load(experiment).map_err(|e| e.to_string())?;
    exp.coupling().map_err(|e| e.to_string())?.ok_or_else(|| {
        format!(
            "{}: no [coupling] table: the exchanges of the coupled run are declared there",
            experiment.display()
        )
    })
}

impl Handle {
    /// `eddylink_init`: joins the coupled job as `component` over the communicator `fcomm`
    /// (a Fortran handle; `None`: MPI_COMM_WORLD), initialising MPI if nobody has.
    pub fn init(component: &str, experiment: &Path, fcomm: Option<i32>) -> Result<Self, CapiError> {
        let call = "eddylink_init";
        ensure_mpi(call)?;
        let world = match fcomm {
            None => SimpleCommunicator::world(),
            Some(f) => {
                // SAFETY: reading a constant that mpi-sys exports.
                let mut dup = unsafe { ffi::RSMPI_COMM_NULL };
                // SAFETY: the handle comes from MPI_Comm_f2c; a bad one makes MPI return an
                // error code (or abort, with the default error handler).
                let rc = unsafe { ffi::MPI_Comm_dup(comm_from_fortran(f), &mut dup) };
                if rc != 0 {
                    return Err(CapiError::Mpi {
                        call,
                        message: format!("MPI_Comm_dup of communicator {f} (Fortran handle) failed with code {rc}"),
                    });
                }
                // SAFETY: `dup` is a new intra-communicator owned by nobody else; it is
                // freed when `world` drops at the end of this function.
                unsafe { SimpleCommunicator::from_raw(dup) }
            }
        };
        let config = match coupling_of(experiment) {
            Ok(c) => c,
            // Every rank learns of it at once, instead of waiting for this one to join.
            Err(reason) => {
                return Err(launch::join(&world, component, Intent::Failed(&reason))
                    .err()
                    .unwrap_or(CouplerError::Launch {
                        message: reason,
                        report: true,
                    })
                    .into())
            }
        };
        let cpl = Coupler::init(&world, component, &config)?;
        experiment::logging::init_logging(false);
        Ok(Handle {
            cpl,
            component: component.to_string(),
            world_rank: world.rank(),
            partitions: Vec::new(),
            vars: Vec::new(),
            scratch_f32: Vec::new(),
            scratch_f64: Vec::new(),
            running: false,
        })
    }

    /// The Fortran handle of the component's own communicator.
    pub fn local_comm(&self) -> i32 {
        // SAFETY: the local communicator is live while the coupler is.
        unsafe { ffi::RSMPI_Comm_c2f(self.cpl.local_comm().as_raw()) }
    }

    /// `[coupling] grid`, when stated.
    pub fn grid(&self) -> Result<(usize, usize), CapiError> {
        self.cpl.grid().ok_or_else(|| {
            CapiError::argument(
                "eddylink_grid",
                "the [coupling] table states no grid = [nx, ny]",
            )
        })
    }

    /// `eddylink_def_partition`: this rank's box (0-based offsets); returns its id.
    pub fn def_partition(&mut self, i0: i32, j0: i32, ni: i32, nj: i32) -> Result<i32, CapiError> {
        let call = "eddylink_def_partition";
        let bad = |m: String| Err(CapiError::argument(call, m));
        if i0 < 0 || j0 < 0 || ni <= 0 || nj <= 0 {
            return bad(format!("box i0 = {i0}, j0 = {j0}, ni = {ni}, nj = {nj}: expected offsets >= 0 (0-based) and sizes >= 1"));
        }
        let region = Region {
            i0: i0 as usize,
            j0: j0 as usize,
            ni: ni as usize,
            nj: nj as usize,
        };
        if let Some((nx, ny)) = self.cpl.grid() {
            if region.i0 + region.ni > nx || region.j0 + region.nj > ny {
                return bad(format!(
                    "box {region} reaches beyond the [coupling] grid of {nx} × {ny} cells"
                ));
            }
        }
        self.partitions.push(region);
        Ok(self.partitions.len() as i32)
    }

    /// `eddylink_def_var`: declares `field` on partition `part`; `levels` 0 takes the levels
    /// of `[coupling]`. The grid point comes from `[coupling]`. Returns the variable's id.
    pub fn def_var(&mut self, field: &str, part: i32, levels: i32) -> Result<i32, CapiError> {
        let call = "eddylink_def_var";
        let region = self.partition(call, part)?;
        let Some(ex) = self.cpl.config().exchanges.iter().find(|ex| {
            [&ex.src, &ex.dst]
                .iter()
                .any(|end| end.component == self.component && end.field == field)
        }) else {
            return Err(CouplerError::UnknownField {
                component: self.component.clone(),
                field: field.into(),
                role: "exchange",
                known: self.field_names().join(", "),
            }
            .into());
        };
        if levels < 0 {
            return Err(CapiError::argument(
                call,
                format!("field '{field}': levels = {levels}; expected >= 1, or 0 for the levels of [coupling] ({})", ex.levels),
            ));
        }
        let levels = if levels == 0 {
            ex.levels
        } else {
            levels as usize
        };
        let def = FieldDef {
            region,
            levels,
            point: ex.point,
        };
        self.cpl.define_field(field, def)?;
        let var = Var {
            name: field.to_string(),
            part: part as usize,
            levels,
        };
        match self.vars.iter().position(|v| v.name == field) {
            Some(k) => {
                self.vars[k] = var;
                Ok(k as i32 + 1)
            }
            None => {
                self.vars.push(var);
                Ok(self.vars.len() as i32)
            }
        }
    }

    /// `eddylink_def_all`: declares every field `[coupling]` names for this component on
    /// partition `part`, with the configured levels; returns how many.
    pub fn def_all(&mut self, part: i32) -> Result<i32, CapiError> {
        let names = self.field_names();
        for name in &names {
            self.def_var(name, part, 0)?;
        }
        Ok(names.len() as i32)
    }

    /// The id of a declared variable.
    pub fn var_id(&self, field: &str) -> Result<i32, CapiError> {
        match self.vars.iter().position(|v| v.name == field) {
            Some(k) => Ok(k as i32 + 1),
            None => Err(CapiError::argument(
                "eddylink_var_id",
                format!(
                    "field '{field}' is not declared (eddylink_def_var or eddylink_def_all); declared: {}",
                    self.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    pub fn enddef(&mut self) -> Result<(), CapiError> {
        self.cpl.enddef()?;
        self.running = true;
        Ok(())
    }

    /// The coupler's own error for a put or get before enddef.
    fn require_running(&self, call: &'static str) -> Result<(), CapiError> {
        if self.running {
            return Ok(());
        }
        Err(CouplerError::WrongState {
            call,
            when: "before enddef()",
            hint: "call enddef() first",
        }
        .into())
    }

    /// The shape a get of `var` fills, in (i, j, level) order, and the halo in it.
    pub fn recv_shape(&self, var: i32) -> Result<(Shape, usize), CapiError> {
        self.require_running("recv_shape")?;
        let v = self.var("eddylink_recv_shape", var)?;
        let (levels, rows, columns, halo) = self.cpl.recv_extent(&v.name)?;
        let shape = Shape {
            ni: columns,
            nj: rows,
            levels,
        };
        Ok((shape, halo))
    }

    /// `eddylink_put_*`: puts `data` (of shape `given`, in `layout`) at model time `t`.
    pub fn put<T: Value>(
        &mut self,
        var: i32,
        t: f64,
        data: &[T],
        given: Shape,
        layout: Layout,
    ) -> Result<(), CapiError> {
        self.require_running("put")?;
        let v = self.var("eddylink_put", var)?.clone();
        let region = self.partitions[v.part - 1];
        let expected = Shape {
            ni: region.ni,
            nj: region.nj,
            levels: v.levels,
        };
        self.check_shape(&v.name, "put", given, expected, "")?;
        match layout {
            Layout::ColumnMajor => self.cpl.put(&v.name, t, data)?,
            Layout::RowMajor => {
                let mut scratch = std::mem::take(T::scratch(self));
                scratch.resize(expected.values(), T::default());
                row_to_column(expected, data, &mut scratch);
                let put = self.cpl.put(&v.name, t, &scratch);
                *T::scratch(self) = scratch;
                put?
            }
        }
        Ok(())
    }

    /// `eddylink_get_*`: gets `var` at model time `t` into `out` (of shape `given`, in
    /// `layout`); false, `out` untouched, when `t` is not a coupling time of the field.
    pub fn get<T: Value>(
        &mut self,
        var: i32,
        t: f64,
        out: &mut [T],
        given: Shape,
        layout: Layout,
    ) -> Result<bool, CapiError> {
        self.require_running("get")?;
        let name = self.var("eddylink_get", var)?.name.clone();
        let (expected, halo) = self.recv_shape(var)?;
        let with_halo = format!(" (the box grown by the halo of {halo} cells on each side)");
        self.check_shape(&name, "get", given, expected, &with_halo)?;
        match layout {
            Layout::ColumnMajor => Ok(self.cpl.get(&name, t, out)?),
            Layout::RowMajor => {
                let mut scratch = std::mem::take(T::scratch(self));
                scratch.resize(expected.values(), T::default());
                let got = self.cpl.get(&name, t, &mut scratch);
                if let Ok(true) = got {
                    column_to_row(expected, &scratch, out);
                }
                *T::scratch(self) = scratch;
                Ok(got?)
            }
        }
    }

    /// `eddylink_finalize`: ends the coupling (collective). Drop the handle then, and call
    /// [`end_mpi`].
    pub fn finalize(&mut self) -> Result<(), CapiError> {
        self.cpl.finalize(None)?;
        Ok(())
    }

    /// `eddylink_abort`: ends the job, first telling every other component `reason`.
    pub fn abort(mut self, reason: &str) -> ! {
        self.cpl.fail(reason)
    }

    fn partition(&self, call: &'static str, part: i32) -> Result<Region, CapiError> {
        usize::try_from(part)
            .ok()
            .and_then(|p| p.checked_sub(1))
            .and_then(|p| self.partitions.get(p).copied())
            .ok_or_else(|| {
                CapiError::argument(
                    call,
                    format!(
                        "partition id {part} is not one eddylink_def_partition gave (1..={})",
                        self.partitions.len()
                    ),
                )
            })
    }

    fn var(&self, call: &'static str, var: i32) -> Result<&Var, CapiError> {
        usize::try_from(var)
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|v| self.vars.get(v))
            .ok_or_else(|| {
                CapiError::argument(
                    call,
                    format!(
                        "variable id {var} is not one eddylink_def_var gave (1..={})",
                        self.vars.len()
                    ),
                )
            })
    }

    fn check_shape(
        &self,
        field: &str,
        call: &str,
        given: Shape,
        expected: Shape,
        detail: &str,
    ) -> Result<(), CapiError> {
        if given == expected {
            return Ok(());
        }
        Err(CouplerError::Size {
            component: self.component.clone(),
            field: field.into(),
            rank: self.world_rank,
            given: given.values(),
            expected: expected.values(),
            detail: format!(
                "{call} takes an array of ni × nj × levels = {expected}{detail}, given {given}"
            ),
        }
        .into())
    }

    /// The fields `[coupling]` names for this component, in order.
    fn field_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for ex in &self.cpl.config().exchanges {
            for end in [&ex.src, &ex.dst] {
                if end.component == self.component && !names.contains(&end.field) {
                    names.push(end.field.clone());
                }
            }
        }
        names
    }
}

/// Finalises MPI if this library initialised it: after the last handle has been dropped
/// (its communicators are freed then).
pub fn end_mpi() {
    if OWNS_MPI.swap(false, Ordering::SeqCst) {
        // SAFETY: MPI was initialised here and no communicator of the library is left.
        unsafe { ffi::MPI_Finalize() };
    }
}

/// Ends the job without a handle (eddylink_init failed or was never called).
pub fn abort_without_handle(reason: &str) -> ! {
    coupler::say!("eddylink: ends the MPI job: {reason}");
    let _ = ensure_mpi("eddylink_abort");
    // SAFETY: MPI is initialised; MPI_Abort does not return.
    unsafe { ffi::MPI_Abort(ffi::RSMPI_COMM_WORLD, 1) };
    std::process::exit(1)
}
