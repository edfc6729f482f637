! A toy ocean in Fortran over the eddylink module: each rank owns one box of a PX × PY
! decomposition of [coupling] grid, puts a known u (real(8)) and v (real(4)) at every step
! and gets sx, sy from ml-server (analytic model `linear`: sx = A u + B, sy = A v + B),
! checked cell by cell, exactly. It declares its fields with eddylink_def_all, as
! [coupling] names them, and uses no MPI Fortran bindings.
!
!   mpiexec -n PX*PY toy_ocean_f EXP PX PY STEPS DT A B [ABORT_AT] : -n N ml-server --config EXP
!
! With ABORT_AT, rank 0 calls eddylink_abort at that step (the failure-path test). Any
! failed call ends the job through eddylink_abort with the library's message.
program toy_ocean
  use, intrinsic :: iso_fortran_env, only: error_unit
  use eddylink
  implicit none

  type(eddylink_coupler) :: cpl
  integer :: ierr, comm, rank, nranks, nx, ny, px, py, steps, abort_at
  integer :: part, nvars, u_id, v_id, sx_id, sy_id, ni, nj, i0, j0, levels, halo, rni, rnj
  integer :: s, i, j, l
  integer(8) :: checked
  real(8) :: dt, a, b, t
  real(8), allocatable :: u(:, :, :), sx(:, :, :)
  real(4), allocatable :: v(:, :, :), sy(:, :, :)
  logical :: got_x, got_y
  character(len=512) :: exp, arg
  character(len=1024) :: reason

  if (command_argument_count() < 7) then
    write (error_unit, '(a)') 'usage: toy_ocean_f EXP PX PY STEPS DT A B [ABORT_AT]'
    stop 2
  end if
  call get_command_argument(1, exp)
  px = int_arg(2)
  py = int_arg(3)
  steps = int_arg(4)
  dt = real_arg(5)
  a = real_arg(6)
  b = real_arg(7)
  abort_at = -1
  if (command_argument_count() >= 8) abort_at = int_arg(8)

  call eddylink_init(cpl, 'ocean', exp, ierr)
  call check('eddylink_init')
  call eddylink_get_localcomm(cpl, comm, ierr)
  call check('eddylink_get_localcomm')
  call eddylink_comm_rank_size(comm, rank, nranks, ierr)
  call check('eddylink_comm_rank_size')
  call eddylink_grid(cpl, nx, ny, ierr)
  call check('eddylink_grid')
  if (nranks /= px*py) then
    write (reason, '(a,i0,a,i0,a,i0)') 'Fortran toy ocean: ', nranks, ' ranks for a decomposition ', px, 'x', py
    call eddylink_abort(cpl, reason)
  end if
  ! Uneven boxes where the grid does not divide (0-based offsets, as OASIS box partitions).
  i0 = mod(rank, px)*nx/px
  ni = (mod(rank, px) + 1)*nx/px - i0
  j0 = (rank/px)*ny/py
  nj = (rank/px + 1)*ny/py - j0

  call eddylink_def_partition(cpl, part, i0, j0, ni, nj, ierr)
  call check('eddylink_def_partition')
  call eddylink_def_all(cpl, part, ierr, count=nvars)
  call check('eddylink_def_all')
  call eddylink_var_id(cpl, 'u', u_id, ierr)
  call check('eddylink_var_id(u)')
  call eddylink_var_id(cpl, 'v', v_id, ierr)
  call check('eddylink_var_id(v)')
  call eddylink_var_id(cpl, 'sx', sx_id, ierr)
  call check('eddylink_var_id(sx)')
  call eddylink_var_id(cpl, 'sy', sy_id, ierr)
  call check('eddylink_var_id(sy)')
  call eddylink_enddef(cpl, ierr)
  call check('eddylink_enddef')
  call eddylink_recv_shape(cpl, sx_id, rni, rnj, levels, ierr, halo=halo)
  call check('eddylink_recv_shape(sx)')
  if (rni /= ni .or. rnj /= nj .or. halo /= 0) call eddylink_abort(cpl, 'Fortran toy ocean: sx has a halo')

  allocate (u(ni, nj, levels), sx(ni, nj, levels), v(ni, nj, levels), sy(ni, nj, levels))
  checked = 0
  do s = 0, steps - 1
    t = s*dt
    if (s == abort_at .and. rank == 0) then
      write (reason, '(a,i0)') 'Fortran toy ocean gives up at step ', s
      call eddylink_abort(cpl, reason)
    end if
    do l = 1, levels
      do j = 1, nj
        do i = 1, ni
          u(i, j, l) = u_at(i0 + i - 1, j0 + j - 1, l - 1, s)
          v(i, j, l) = real(v_at(i0 + i - 1, j0 + j - 1, l - 1, s), 4)
        end do
      end do
    end do
    call eddylink_put(cpl, u_id, t, u, ierr)
    call check('eddylink_put(u)')
    call eddylink_put(cpl, v_id, t, v, ierr)
    call check('eddylink_put(v)')
    call eddylink_get(cpl, sx_id, t, sx, ierr, received=got_x)
    call check('eddylink_get(sx)')
    call eddylink_get(cpl, sy_id, t, sy, ierr, received=got_y)
    call check('eddylink_get(sy)')
    if (.not. (got_x .and. got_y)) call eddylink_abort(cpl, 'Fortran toy ocean: a coupling step delivered no forcing')
    do l = 1, levels
      do j = 1, nj
        do i = 1, ni
          if (sx(i, j, l) /= a*u_at(i0 + i - 1, j0 + j - 1, l - 1, s) + b .or. &
              real(sy(i, j, l), 8) /= a*v_at(i0 + i - 1, j0 + j - 1, l - 1, s) + b) then
            write (reason, '(a,i0,a,i0,a,i0,a,i0,a,es16.9,a,es16.9)') 'Fortran toy ocean: step ', s, &
              ' cell (', i0 + i - 1, ', ', j0 + j - 1, ') level ', l - 1, ': sx = ', sx(i, j, l), ', sy = ', sy(i, j, l)
            call eddylink_abort(cpl, reason)
          end if
          checked = checked + 1
        end do
      end do
    end do
  end do
  call eddylink_finalize(cpl, ierr)
  call check('eddylink_finalize')
  write (*, '(a,i0,a,i0,a,i0,a,i0,a,i0,a,i0,a,i0,a,i0,a,i0,a,i0,a)') 'Fortran toy ocean rank ', rank, '/', nranks, &
    ': box i ', i0, '..', i0 + ni, ', j ', j0, '..', j0 + nj, ', ', levels, ' levels, ', steps, ' steps, ', nvars, &
    ' fields: ', checked, ' forcing values exact'

contains

  !> Ends the job with the library's message when the last call failed.
  subroutine check(what)
    character(*), intent(in) :: what
    character(len=900) :: message
    if (ierr == EDDYLINK_OK) return
    call eddylink_error_message(message)
    write (reason, '(a,a,a,i0,a,a)') 'Fortran toy ocean: ', what, ' failed (code ', ierr, '): ', trim(message)
    write (error_unit, '(a)') trim(reason)
    call eddylink_abort(cpl, reason)
  end subroutine check

  real(8) function u_at(gi, gj, l, s)
    integer, intent(in) :: gi, gj, l, s
    u_at = real(gi + 32*gj + 1024*l + 8192*s, 8)
  end function u_at

  real(8) function v_at(gi, gj, l, s)
    integer, intent(in) :: gi, gj, l, s
    v_at = real(3*gi - 7*gj - 512*l - 4096*s, 8)
  end function v_at

  integer function int_arg(k)
    integer, intent(in) :: k
    call get_command_argument(k, arg)
    read (arg, *) int_arg
  end function int_arg

  real(8) function real_arg(k)
    integer, intent(in) :: k
    call get_command_argument(k, arg)
    read (arg, *) real_arg
  end function real_arg

end program toy_ocean
