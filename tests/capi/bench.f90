! put→get bandwidth and per-call cost through the Fortran module, the same exchanges as
! the Rust coupler benchmark (tests/src/bin/coupler-bench.rs): component "a" puts x, "b"
! gets it and puts y back, one round trip per coupling time (period 1 s), real(4) fields
! of n × n × levels; one-way time is half a round trip, after 3 untimed ones. Then each
! rank times `calls` puts of x or y off the coupling times (t = 0.5 s, nothing is sent):
! the cost of one call through the module, the ABI and the coupler's checks.
!
!   mpiexec -n 1 bench_f EXP a N LEVELS REPS CALLS : -n 1 bench_f EXP b N LEVELS REPS CALLS
!
! EXP has the two exchanges and [run] duration >= REPS + 3 s (jobs/bench-capi.sh writes it).
program bench
  use, intrinsic :: iso_fortran_env, only: error_unit, int64
  use eddylink
  implicit none
  integer, parameter :: warm = 3
  type(eddylink_coupler) :: cpl
  character(len=512) :: exp, arg
  character(len=8) :: me
  integer :: n, levels, reps, calls, ierr, part, id_send, id_recv, k
  integer(int64) :: start, finish, rate
  real(4), allocatable :: buf(:, :, :)
  real(8) :: one_way, per_call

  call get_command_argument(1, exp)
  call get_command_argument(2, me)
  n = int_arg(3)
  levels = int_arg(4)
  reps = int_arg(5)
  calls = int_arg(6)

  call eddylink_init(cpl, trim(me), exp, ierr)
  call check('eddylink_init')
  call eddylink_def_partition(cpl, part, 0, 0, n, n, ierr)
  call check('eddylink_def_partition')
  call eddylink_def_all(cpl, part, ierr)
  call check('eddylink_def_all')
  if (me == 'a') then
    call eddylink_var_id(cpl, 'x', id_send, ierr)
    call eddylink_var_id(cpl, 'y', id_recv, ierr)
  else
    call eddylink_var_id(cpl, 'y', id_send, ierr)
    call eddylink_var_id(cpl, 'x', id_recv, ierr)
  end if
  call check('eddylink_var_id')
  call eddylink_enddef(cpl, ierr)
  call check('eddylink_enddef')
  allocate (buf(n, n, levels))
  buf = 1.0

  call system_clock(start, rate)
  do k = 0, warm + reps - 1
    if (k == warm) call system_clock(start)
    if (me == 'b') then
      call eddylink_get(cpl, id_recv, real(k, 8), buf, ierr)
      call check('eddylink_get')
    end if
    call eddylink_put(cpl, id_send, real(k, 8), buf, ierr)
    call check('eddylink_put')
    if (me == 'a') then
      call eddylink_get(cpl, id_recv, real(k, 8), buf, ierr)
      call check('eddylink_get')
    end if
  end do
  call system_clock(finish)
  one_way = real(finish - start, 8)/real(rate, 8)/(2*reps)

  call system_clock(start)
  do k = 1, calls
    call eddylink_put(cpl, id_send, 0.5d0, buf, ierr)
  end do
  call system_clock(finish)
  call check('eddylink_put off the coupling times')
  per_call = real(finish - start, 8)/real(rate, 8)/calls

  call eddylink_finalize(cpl, ierr)
  call check('eddylink_finalize')
  if (me == 'a') write (*, '(a,i0,a,i0,a,f10.4,a,f9.1)') 'fortran n=', n, ' levels=', levels, &
    ' one-way ms=', one_way*1d3, ' put call ns=', per_call*1d9

contains

  subroutine check(what)
    character(*), intent(in) :: what
    character(len=900) :: message
    if (ierr == EDDYLINK_OK) return
    call eddylink_error_message(message)
    write (error_unit, '(a,a,a,a)') 'bench_f: ', what, ': ', trim(message)
    call eddylink_abort(cpl, trim(message))
  end subroutine check

  integer function int_arg(k)
    integer, intent(in) :: k
    call get_command_argument(k, arg)
    read (arg, *) int_arg
  end function int_arg
end program bench
