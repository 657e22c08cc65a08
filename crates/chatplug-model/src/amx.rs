//! Intel AMX (Advanced Matrix Extensions) for the int8 kernel: tile registers that hold
//! 16 rows of 64 bytes, and `tdpbsud`, which multiplies a 16-row tile of signed bytes by a
//! tile of unsigned bytes in VNNI order and adds into a 16×16 tile of i32 — 8,192
//! multiply-adds for a block of 32 inputs in one instruction, against VNNI's 64.
//!
//! Why here: the encoder multiplies thousands of rows by every weight matrix, where the
//! VNNI kernel is no faster than candle's f32 GEMM (both near their instruction limits,
//! `examples/linear_precisions.rs`); a tile product does sixteen rows at once, so the time
//! goes to the per-block scaling in f32 rather than to the multiplies.
//!
//! Rust has no stable AMX intrinsics, so the few tile instructions are written as `asm!`
//! (the assembler knows them); the tile registers are never touched by compiled code. Linux
//! lends the tile state to a process only after it asks (`arch_prctl`); [`available`]
//! asks once and says no where the CPU or the kernel lacks AMX.

use std::sync::OnceLock;

/// Rows of a tile (and of the output tile), fixed by the hardware.
pub const TILE_ROWS: usize = 16;

/// Whether this CPU has AMX-TILE and AMX-INT8 and the OS lent this process the tile state.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(detect)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    /// `arch_prctl` request for permission to use an extended state component.
    const ARCH_REQ_XCOMP_PERM: libc::c_ulong = 0x1023;
    /// The state component of the tile data (XTILEDATA).
    const XFEATURE_XTILEDATA: libc::c_ulong = 18;
    // CPUID is always available on x86_64; leaf 7 is read only when it exists.
    let leaf7 = {
        if __cpuid(0).eax < 7 {
            return false;
        }
        __cpuid_count(7, 0)
    };
    // Leaf 7, EDX: bit 24 AMX-TILE, bit 25 AMX-INT8.
    if leaf7.edx >> 24 & 1 == 0 || leaf7.edx >> 25 & 1 == 0 {
        return false;
    }
    // SAFETY: a plain system call; it fails (non-zero) where the kernel does not support
    // the request, and changes nothing but this process's permission.
    unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

/// The 64-byte tile configuration `ldtilecfg` reads: palette 1, then per tile register its
/// bytes per row and its rows.
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    colsb: [u16; 16],
    rows: [u8; 16],
}

/// The tiles of one block product, twice (two blocks in flight): `tmm0`/`tmm3` the 16×16
/// i32 sums, `tmm1`/`tmm4` 16 rows × 32 input bytes, `tmm2`/`tmm5` the 16 channels' 32
/// inputs as 8 rows of 64 bytes (runs of four inputs per channel: the VNNI order).
fn block_config() -> TileConfig {
    let mut config = TileConfig { palette: 1, start_row: 0, reserved: [0; 14], colsb: [0; 16], rows: [0; 16] };
    for first in [0, 3] {
        config.colsb[first] = 64;
        config.rows[first] = TILE_ROWS as u8;
        config.colsb[first + 1] = 32;
        config.rows[first + 1] = TILE_ROWS as u8;
        config.colsb[first + 2] = 64;
        config.rows[first + 2] = 8;
    }
    config
}

/// Holds the tile configuration on the current thread while it lives; releases the tile
/// state when dropped (tile registers are per thread).
pub struct Tiles(());

impl Tiles {
    /// Configures this thread's tiles for [`Tiles::block_products`].
    ///
    /// # Safety
    /// [`available`] must have returned true.
    pub unsafe fn configure() -> Tiles {
        let config = block_config();
        // SAFETY (caller): AMX is available and permitted; the config is 64 valid bytes.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("ldtilecfg [{0}]", in(reg) &config as *const TileConfig, options(nostack, readonly));
        }
        let _ = config;
        Tiles(())
    }

    /// Two block products: `c0 = a0 · b0` and `c1 = a1 · b1` as 16×16 i32 (row-major,
    /// 64 bytes a row), where `a` is 16 rows of 32 signed bytes `a_stride` bytes apart and
    /// `b` the 512 unsigned bytes of 16 channels' block in runs of four.
    ///
    /// # Safety
    /// `a0`/`a1` readable for 16 rows at `a_stride`, `b0`/`b1` for 512 bytes, `c0`/`c1`
    /// writable for 256 i32.
    #[inline]
    pub unsafe fn block_products(
        &self,
        a0: *const i8,
        b0: *const i8,
        c0: *mut i32,
        a1: *const i8,
        b1: *const i8,
        c1: *mut i32,
        a_stride: usize,
    ) {
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!(
                "tilezero tmm0",
                "tilezero tmm3",
                "tileloadd tmm1, [{a0} + {sa}]",
                "tileloadd tmm2, [{b0} + {sb}]",
                "tileloadd tmm4, [{a1} + {sa}]",
                "tileloadd tmm5, [{b1} + {sb}]",
                "tdpbsud tmm0, tmm1, tmm2",
                "tdpbsud tmm3, tmm4, tmm5",
                "tilestored [{c0} + {sb}], tmm0",
                "tilestored [{c1} + {sb}], tmm3",
                a0 = in(reg) a0,
                b0 = in(reg) b0,
                a1 = in(reg) a1,
                b1 = in(reg) b1,
                c0 = in(reg) c0,
                c1 = in(reg) c1,
                sa = in(reg) a_stride,
                sb = in(reg) 64usize,
                options(nostack),
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (a0, b0, c0, a1, b1, c1, a_stride);
    }
}

impl Drop for Tiles {
    fn drop(&mut self) {
        // SAFETY: this thread configured its tiles in `configure`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("tilerelease", options(nostack, nomem));
        }
    }
}
