! eddylink.f90 — Fortran module over the eddylink C ABI (eddylink.h, libeddylink).
!
! Shipped as source: compile it with the compiler of your ocean (a .mod file is specific
! to one compiler and version), and link libeddylink and the MPI of your ocean:
!
!   gfortran -c eddylink.f90
!   gfortran ocean.f90 eddylink.o -L$EDDYLINK/lib -leddylink -Wl,-rpath,$EDDYLINK/lib
!
! Every call takes an integer ierr, last, as MPI does: EDDYLINK_OK (0) or an
! EDDYLINK_ERR_* code; eddylink_error_message(message) tells why. Arrays are Fortran
! arrays a(i, j) or a(i, j, level) over this rank's box (column-major: no copy). The
! module needs no MPI Fortran bindings: communicators are integer handles, and
! eddylink_comm_rank_size gives rank and size.
module eddylink
  use, intrinsic :: iso_c_binding
  implicit none
  private

  integer, parameter, public :: EDDYLINK_OK = 0
  integer, parameter, public :: EDDYLINK_ERR_ARGUMENT = 1
  integer, parameter, public :: EDDYLINK_ERR_CONFIG = 2
  integer, parameter, public :: EDDYLINK_ERR_SETUP = 3
  integer, parameter, public :: EDDYLINK_ERR_STATE = 4
  integer, parameter, public :: EDDYLINK_ERR_FIELD = 5
  integer, parameter, public :: EDDYLINK_ERR_SIZE = 6
  integer, parameter, public :: EDDYLINK_ERR_TIMEOUT = 7
  integer, parameter, public :: EDDYLINK_ERR_PEER_FAILED = 8
  integer, parameter, public :: EDDYLINK_ERR_PEER_STOPPED = 9
  integer, parameter, public :: EDDYLINK_ERR_SEQUENCE = 10
  integer, parameter, public :: EDDYLINK_ERR_MPI = 11
  integer, parameter, public :: EDDYLINK_ERR_PANIC = 12

  integer(c_int), parameter :: COLUMN_MAJOR = 0

  !> A component's handle on the coupled job (eddylink_coupler * in C).
  type, public :: eddylink_coupler
    type(c_ptr) :: ptr = c_null_ptr
  end type eddylink_coupler

  public :: eddylink_init, eddylink_get_localcomm, eddylink_comm_rank_size, eddylink_grid
  public :: eddylink_def_partition, eddylink_def_var, eddylink_def_all, eddylink_var_id
  public :: eddylink_enddef, eddylink_recv_shape, eddylink_put, eddylink_get
  public :: eddylink_finalize, eddylink_abort, eddylink_error_message

  !> eddylink_put(cpl, var_id, time, field, ierr): field(ni, nj) or field(ni, nj, levels),
  !> real(4) or real(8).
  interface eddylink_put
    module procedure put_r8_2d, put_r8_3d, put_r4_2d, put_r4_3d
  end interface eddylink_put

  !> eddylink_get(cpl, var_id, time, field, ierr [, received]): field(ni+2h, nj+2h[, levels]).
  interface eddylink_get
    module procedure get_r8_2d, get_r8_3d, get_r4_2d, get_r4_3d
  end interface eddylink_get

  interface
    integer(c_int) function c_init(component, experiment, comm, cpl) bind(c, name="eddylink_init")
      import :: c_int, c_char, c_ptr
      character(kind=c_char), intent(in) :: component(*), experiment(*)
      integer(c_int), value :: comm
      type(c_ptr), intent(out) :: cpl
    end function c_init
    integer(c_int) function c_init_world(component, experiment, cpl) bind(c, name="eddylink_init_world")
      import :: c_int, c_char, c_ptr
      character(kind=c_char), intent(in) :: component(*), experiment(*)
      type(c_ptr), intent(out) :: cpl
    end function c_init_world
    integer(c_int) function c_get_localcomm(cpl, comm) bind(c, name="eddylink_get_localcomm")
      import :: c_int, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), intent(out) :: comm
    end function c_get_localcomm
    integer(c_int) function c_comm_rank_size(comm, rank, size) bind(c, name="eddylink_comm_rank_size")
      import :: c_int
      integer(c_int), value :: comm
      integer(c_int), intent(out) :: rank, size
    end function c_comm_rank_size
    integer(c_int) function c_grid(cpl, nx, ny) bind(c, name="eddylink_grid")
      import :: c_int, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), intent(out) :: nx, ny
    end function c_grid
    integer(c_int) function c_def_partition(cpl, i0, j0, ni, nj, part_id) bind(c, name="eddylink_def_partition")
      import :: c_int, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), value :: i0, j0, ni, nj
      integer(c_int), intent(out) :: part_id
    end function c_def_partition
    integer(c_int) function c_def_var(cpl, field, part_id, levels, var_id) bind(c, name="eddylink_def_var")
      import :: c_int, c_char, c_ptr
      type(c_ptr), value :: cpl
      character(kind=c_char), intent(in) :: field(*)
      integer(c_int), value :: part_id, levels
      integer(c_int), intent(out) :: var_id
    end function c_def_var
    integer(c_int) function c_def_all(cpl, part_id, count) bind(c, name="eddylink_def_all")
      import :: c_int, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), value :: part_id
      integer(c_int), intent(out) :: count
    end function c_def_all
    integer(c_int) function c_var_id(cpl, field, var_id) bind(c, name="eddylink_var_id")
      import :: c_int, c_char, c_ptr
      type(c_ptr), value :: cpl
      character(kind=c_char), intent(in) :: field(*)
      integer(c_int), intent(out) :: var_id
    end function c_var_id
    integer(c_int) function c_enddef(cpl) bind(c, name="eddylink_enddef")
      import :: c_int, c_ptr
      type(c_ptr), value :: cpl
    end function c_enddef
    integer(c_int) function c_recv_shape(cpl, var_id, ni, nj, levels, halo) bind(c, name="eddylink_recv_shape")
      import :: c_int, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), value :: var_id
      integer(c_int), intent(out) :: ni, nj, levels, halo
    end function c_recv_shape
    integer(c_int) function c_put_f64(cpl, var_id, time, data, ni, nj, levels, layout) bind(c, name="eddylink_put_f64")
      import :: c_int, c_double, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), value :: var_id, ni, nj, levels, layout
      real(c_double), value :: time
      real(c_double), intent(in) :: data(*)
    end function c_put_f64
    integer(c_int) function c_put_f32(cpl, var_id, time, data, ni, nj, levels, layout) bind(c, name="eddylink_put_f32")
      import :: c_int, c_double, c_float, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), value :: var_id, ni, nj, levels, layout
      real(c_double), value :: time
      real(c_float), intent(in) :: data(*)
    end function c_put_f32
    integer(c_int) function c_get_f64(cpl, var_id, time, data, ni, nj, levels, layout, received) &
        bind(c, name="eddylink_get_f64")
      import :: c_int, c_double, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), value :: var_id, ni, nj, levels, layout
      real(c_double), value :: time
      real(c_double), intent(inout) :: data(*)
      integer(c_int), intent(out) :: received
    end function c_get_f64
    integer(c_int) function c_get_f32(cpl, var_id, time, data, ni, nj, levels, layout, received) &
        bind(c, name="eddylink_get_f32")
      import :: c_int, c_double, c_float, c_ptr
      type(c_ptr), value :: cpl
      integer(c_int), value :: var_id, ni, nj, levels, layout
      real(c_double), value :: time
      real(c_float), intent(inout) :: data(*)
      integer(c_int), intent(out) :: received
    end function c_get_f32
    integer(c_int) function c_finalize(cpl) bind(c, name="eddylink_finalize")
      import :: c_int, c_ptr
      type(c_ptr), intent(inout) :: cpl
    end function c_finalize
    integer(c_int) function c_abort(cpl, reason) bind(c, name="eddylink_abort")
      import :: c_int, c_char, c_ptr
      type(c_ptr), value :: cpl
      character(kind=c_char), intent(in) :: reason(*)
    end function c_abort
    integer(c_size_t) function c_error_message(buf, len) bind(c, name="eddylink_error_message")
      import :: c_char, c_size_t
      character(kind=c_char), intent(out) :: buf(*)
      integer(c_size_t), value :: len
    end function c_error_message
  end interface

contains

  !> Joins the coupled job as `component`, reading [coupling] from `experiment`
  !> (oasis_init_comp). Without `comm`: over MPI_COMM_WORLD, initialising MPI if needed.
  subroutine eddylink_init(cpl, component, experiment, ierr, comm)
    type(eddylink_coupler), intent(out) :: cpl
    character(*), intent(in) :: component, experiment
    integer, intent(out) :: ierr
    integer, intent(in), optional :: comm
    if (present(comm)) then
      ierr = c_init(c_str(component), c_str(experiment), int(comm, c_int), cpl%ptr)
    else
      ierr = c_init_world(c_str(component), c_str(experiment), cpl%ptr)
    end if
  end subroutine eddylink_init

  !> The component's own communicator, as an integer handle (oasis_get_localcomm).
  subroutine eddylink_get_localcomm(cpl, localcomm, ierr)
    type(eddylink_coupler), intent(in) :: cpl
    integer, intent(out) :: localcomm, ierr
    integer(c_int) :: c
    ierr = c_get_localcomm(cpl%ptr, c)
    localcomm = c
  end subroutine eddylink_get_localcomm

  !> Rank and size in a communicator (for a program without MPI's Fortran bindings).
  subroutine eddylink_comm_rank_size(comm, rank, size, ierr)
    integer, intent(in) :: comm
    integer, intent(out) :: rank, size, ierr
    integer(c_int) :: r, s
    ierr = c_comm_rank_size(int(comm, c_int), r, s)
    rank = r
    size = s
  end subroutine eddylink_comm_rank_size

  !> The global grid, [coupling] grid = [nx, ny].
  subroutine eddylink_grid(cpl, nx, ny, ierr)
    type(eddylink_coupler), intent(in) :: cpl
    integer, intent(out) :: nx, ny, ierr
    integer(c_int) :: x, y
    ierr = c_grid(cpl%ptr, x, y)
    nx = x
    ny = y
  end subroutine eddylink_grid

  !> This rank's box (oasis_def_partition with a box partition): 0-based global offsets
  !> i0, j0 and extents ni, nj, without halo.
  subroutine eddylink_def_partition(cpl, part_id, i0, j0, ni, nj, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(out) :: part_id, ierr
    integer, intent(in) :: i0, j0, ni, nj
    integer(c_int) :: p
    ierr = c_def_partition(cpl%ptr, int(i0, c_int), int(j0, c_int), int(ni, c_int), int(nj, c_int), p)
    part_id = p
  end subroutine eddylink_def_partition

  !> Declares one field of the component (oasis_def_var); `levels` defaults to [coupling]'s.
  subroutine eddylink_def_var(cpl, var_id, name, part_id, ierr, levels)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(out) :: var_id, ierr
    character(*), intent(in) :: name
    integer, intent(in) :: part_id
    integer, intent(in), optional :: levels
    integer(c_int) :: v, l
    l = 0
    if (present(levels)) l = int(levels, c_int)
    ierr = c_def_var(cpl%ptr, c_str(name), int(part_id, c_int), l, v)
    var_id = v
  end subroutine eddylink_def_var

  !> Declares every field [coupling] names for the component; ids from eddylink_var_id.
  subroutine eddylink_def_all(cpl, part_id, ierr, count)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: part_id
    integer, intent(out) :: ierr
    integer, intent(out), optional :: count
    integer(c_int) :: n
    ierr = c_def_all(cpl%ptr, int(part_id, c_int), n)
    if (present(count)) count = n
  end subroutine eddylink_def_all

  !> The id of a declared field.
  subroutine eddylink_var_id(cpl, name, var_id, ierr)
    type(eddylink_coupler), intent(in) :: cpl
    character(*), intent(in) :: name
    integer, intent(out) :: var_id, ierr
    integer(c_int) :: v
    ierr = c_var_id(cpl%ptr, c_str(name), v)
    var_id = v
  end subroutine eddylink_var_id

  !> Ends the definitions (oasis_enddef): collective over every component.
  subroutine eddylink_enddef(cpl, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(out) :: ierr
    ierr = c_enddef(cpl%ptr)
  end subroutine eddylink_enddef

  !> Extents of the array a get fills: the box grown by the halo, and the levels.
  subroutine eddylink_recv_shape(cpl, var_id, ni, nj, levels, ierr, halo)
    type(eddylink_coupler), intent(in) :: cpl
    integer, intent(in) :: var_id
    integer, intent(out) :: ni, nj, levels, ierr
    integer, intent(out), optional :: halo
    integer(c_int) :: a, b, l, h
    ierr = c_recv_shape(cpl%ptr, int(var_id, c_int), a, b, l, h)
    ni = a
    nj = b
    levels = l
    if (present(halo)) halo = h
  end subroutine eddylink_recv_shape

  subroutine put_r8_2d(cpl, var_id, time, field, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_double), contiguous, intent(in) :: field(:, :)
    integer, intent(out) :: ierr
    ierr = c_put_f64(cpl%ptr, int(var_id, c_int), real(time, c_double), field, &
                     int(size(field, 1), c_int), int(size(field, 2), c_int), 1_c_int, COLUMN_MAJOR)
  end subroutine put_r8_2d

  subroutine put_r8_3d(cpl, var_id, time, field, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_double), contiguous, intent(in) :: field(:, :, :)
    integer, intent(out) :: ierr
    ierr = c_put_f64(cpl%ptr, int(var_id, c_int), real(time, c_double), field, int(size(field, 1), c_int), &
                     int(size(field, 2), c_int), int(size(field, 3), c_int), COLUMN_MAJOR)
  end subroutine put_r8_3d

  subroutine put_r4_2d(cpl, var_id, time, field, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_float), contiguous, intent(in) :: field(:, :)
    integer, intent(out) :: ierr
    ierr = c_put_f32(cpl%ptr, int(var_id, c_int), real(time, c_double), field, &
                     int(size(field, 1), c_int), int(size(field, 2), c_int), 1_c_int, COLUMN_MAJOR)
  end subroutine put_r4_2d

  subroutine put_r4_3d(cpl, var_id, time, field, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_float), contiguous, intent(in) :: field(:, :, :)
    integer, intent(out) :: ierr
    ierr = c_put_f32(cpl%ptr, int(var_id, c_int), real(time, c_double), field, int(size(field, 1), c_int), &
                     int(size(field, 2), c_int), int(size(field, 3), c_int), COLUMN_MAJOR)
  end subroutine put_r4_3d

  subroutine get_r8_2d(cpl, var_id, time, field, ierr, received)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_double), contiguous, intent(inout) :: field(:, :)
    integer, intent(out) :: ierr
    logical, intent(out), optional :: received
    integer(c_int) :: got
    ierr = c_get_f64(cpl%ptr, int(var_id, c_int), real(time, c_double), field, &
                     int(size(field, 1), c_int), int(size(field, 2), c_int), 1_c_int, COLUMN_MAJOR, got)
    if (present(received)) received = ierr == EDDYLINK_OK .and. got /= 0
  end subroutine get_r8_2d

  subroutine get_r8_3d(cpl, var_id, time, field, ierr, received)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_double), contiguous, intent(inout) :: field(:, :, :)
    integer, intent(out) :: ierr
    logical, intent(out), optional :: received
    integer(c_int) :: got
    ierr = c_get_f64(cpl%ptr, int(var_id, c_int), real(time, c_double), field, int(size(field, 1), c_int), &
                     int(size(field, 2), c_int), int(size(field, 3), c_int), COLUMN_MAJOR, got)
    if (present(received)) received = ierr == EDDYLINK_OK .and. got /= 0
  end subroutine get_r8_3d

  subroutine get_r4_2d(cpl, var_id, time, field, ierr, received)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_float), contiguous, intent(inout) :: field(:, :)
    integer, intent(out) :: ierr
    logical, intent(out), optional :: received
    integer(c_int) :: got
    ierr = c_get_f32(cpl%ptr, int(var_id, c_int), real(time, c_double), field, &
                     int(size(field, 1), c_int), int(size(field, 2), c_int), 1_c_int, COLUMN_MAJOR, got)
    if (present(received)) received = ierr == EDDYLINK_OK .and. got /= 0
  end subroutine get_r4_2d

  subroutine get_r4_3d(cpl, var_id, time, field, ierr, received)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(in) :: var_id
    real(8), intent(in) :: time
    real(c_float), contiguous, intent(inout) :: field(:, :, :)
    integer, intent(out) :: ierr
    logical, intent(out), optional :: received
    integer(c_int) :: got
    ierr = c_get_f32(cpl%ptr, int(var_id, c_int), real(time, c_double), field, int(size(field, 1), c_int), &
                     int(size(field, 2), c_int), int(size(field, 3), c_int), COLUMN_MAJOR, got)
    if (present(received)) received = ierr == EDDYLINK_OK .and. got /= 0
  end subroutine get_r4_3d

  !> Ends the coupling (oasis_terminate): collective; finalises MPI if eddylink_init
  !> initialised it. On error the handle is kept, for eddylink_abort.
  subroutine eddylink_finalize(cpl, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    integer, intent(out) :: ierr
    ierr = c_finalize(cpl%ptr)
  end subroutine eddylink_finalize

  !> Ends the whole job (oasis_abort), telling every other component `reason`.
  !> Does not return; ierr is there for the MPI style.
  subroutine eddylink_abort(cpl, reason, ierr)
    type(eddylink_coupler), intent(inout) :: cpl
    character(*), intent(in) :: reason
    integer, intent(out), optional :: ierr
    integer(c_int) :: rc
    rc = c_abort(cpl%ptr, c_str(reason))
    if (present(ierr)) ierr = rc
  end subroutine eddylink_abort

  !> The message of the last error of this thread (cut to len(message)).
  subroutine eddylink_error_message(message, length)
    character(*), intent(out) :: message
    integer, intent(out), optional :: length
    character(kind=c_char) :: buf(len(message) + 1)
    integer(c_size_t) :: n
    integer :: k
    n = c_error_message(buf, int(size(buf), c_size_t))
    message = ''
    do k = 1, len(message)
      if (buf(k) == c_null_char) exit
      message(k:k) = buf(k)
    end do
    if (present(length)) length = int(n)
  end subroutine eddylink_error_message

  !> `text` without trailing blanks, NUL-terminated for C.
  pure function c_str(text) result(s)
    character(*), intent(in) :: text
    character(kind=c_char, len=len_trim(text) + 1) :: s
    s = trim(text)//c_null_char
  end function c_str

end module eddylink
