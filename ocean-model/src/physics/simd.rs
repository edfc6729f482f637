//! Run a hot loop nest compiled for the wider vector unit of the CPU.
//!
//! The build targets baseline x86-64 (SSE2, two f64 lanes). [`widest`] runs its
//! closure through a copy compiled for AVX2 (four lanes) when the CPU has it;
//! everything the closure calls must be `#[inline(always)]` to be compiled into that
//! copy. (An AVX-512 copy measured no faster: the sweep is limited by memory and
//! the divider, not by lanes.) The results are bit-for-bit the same on every path:
//! each point is a sequence of correctly rounded IEEE operations (no fused
//! multiply-adds, no reassociation), whatever the vector width.

/// Call `f`, compiled for AVX2 where the CPU has it.
#[inline(always)]
pub fn widest<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `avx2` needs AVX2, which the CPU was just seen to have.
            return unsafe { avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
