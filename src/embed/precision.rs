//! Which arithmetic the encoder runs in, chosen from what the CPU can do at run time.

use std::fmt;
use std::str::FromStr;

use super::error::{EmbedError, Result};

/// The environment variable that picks the precision when the options leave it on `Auto`.
pub const PRECISION_ENV: &str = "ENGRAM_EMBED_PRECISION";

/// The arithmetic of the encoder's matrix products.
///
/// Layer norms, softmax, GELU, the residual stream and every accumulation are f32 on every
/// path; only the inputs of the linear layers' products differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// bf16 where the CPU has AVX-512 BF16, int8 where it has AVX2 and FMA, f32 elsewhere
    /// (or what `ENGRAM_EMBED_PRECISION` says).
    #[default]
    Auto,
    /// f32 products: the portable path (AVX2 + FMA or NEON kernels where present, plain Rust
    /// elsewhere), at reference parity.
    F32,
    /// bf16 × bf16 products accumulated in f32 (`vdpbf16ps`); needs AVX-512 BF16.
    Bf16,
    /// Every linear layer in int8 (`vpmaddubsw`, 8-bit weights and 7-bit inputs with a scale
    /// per block of 32, smoothed where a norm comes before; each text's [CLS] and [SEP]
    /// tokens rounded twice, the row and then what that left); attention's products in f32;
    /// needs AVX2 and FMA.
    Int8,
}

impl Precision {
    /// The name used by the setting.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::Int8 => "int8",
        }
    }

    /// The concrete path `self` runs on this CPU: `Auto` becomes the environment's choice
    /// or the fastest path available; an explicit `Bf16` on a CPU without it is an error
    /// that says so.
    pub fn resolve(self) -> Result<Kernel> {
        let wanted = match self {
            Self::Auto => match std::env::var(PRECISION_ENV) {
                Ok(value) if !value.trim().is_empty() => value.parse()?,
                _ => Self::Auto,
            },
            explicit => explicit,
        };
        match wanted {
            Self::Auto if Kernel::bf16_available() => Ok(Kernel::Bf16Avx512),
            Self::Auto if Kernel::Int8Avx2.available() => Ok(Kernel::Int8Avx2),
            Self::Auto | Self::F32 => Ok(Kernel::f32_best()),
            Self::Int8 if Kernel::Int8Avx2.available() => Ok(Kernel::Int8Avx2),
            Self::Int8 => Err(EmbedError::InvalidOption(format!(
                "precision int8 needs a CPU with AVX2 and FMA, and this one has none; use \
                 auto or f32 ({PRECISION_ENV})"
            ))),
            Self::Bf16 if Kernel::bf16_available() => Ok(Kernel::Bf16Avx512),
            Self::Bf16 => Err(EmbedError::InvalidOption(format!(
                "precision bf16 needs a CPU with AVX-512 BF16, and this one has none; use \
                 auto or f32 ({PRECISION_ENV})"
            ))),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = EmbedError;

    fn from_str(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "f32" | "fp32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            "int8" => Ok(Self::Int8),
            other => Err(EmbedError::InvalidOption(format!(
                "unknown precision {other:?} (expected auto, f32, bf16 or int8)"
            ))),
        }
    }
}

/// The matrix-product kernel the encoder runs: a precision on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// bf16 products, f32 accumulation, AVX-512 BF16 (`vdpbf16ps`), 6 × 64 register tiles.
    Bf16Avx512,
    /// f32 with AVX2 and FMA, 6 × 16 register tiles; the same arithmetic in 512-bit
    /// registers (12 × 32 tiles) where the CPU has AVX-512F ([`Kernel::instructions`]).
    F32Avx2,
    /// Every linear layer in int8 with AVX2 (`vpmaddubsw`, 4 × 16 tiles, or `vpdpbusd` where
    /// the CPU has AVX-512 VNNI: the same sums), each text's [CLS] and [SEP] rows rounded
    /// twice; attention's products as [`Kernel::F32Avx2`].
    Int8Avx2,
    /// f32 with ARM64's NEON, 6 × 16 register tiles.
    F32Neon,
    /// f32 in plain Rust, for any CPU.
    F32Generic,
}

impl Kernel {
    /// A short name for reports: `bf16-avx512`, `f32-avx2`, `int8-avx2`, `f32-neon`,
    /// `f32-generic`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bf16Avx512 => "bf16-avx512",
            Self::F32Avx2 => "f32-avx2",
            Self::Int8Avx2 => "int8-avx2",
            Self::F32Neon => "f32-neon",
            Self::F32Generic => "f32-generic",
        }
    }

    /// The instructions this kernel's register tiles run with on this CPU: the x86 paths
    /// run their tiles in 512-bit registers where the CPU has AVX-512F (and the int8
    /// product with `vpdpbusd` where it has AVX-512 VNNI), with the same results bit for
    /// bit, so the name says the arithmetic and this says the speed.
    pub fn instructions(self) -> &'static str {
        // The same tests the products dispatch on, so the report is what runs.
        let avx512 = super::kernels::f32_tiles_use_avx512();
        let vnni = super::kernels::int8_tile_uses_vnni();
        match self {
            Self::Bf16Avx512 => "AVX-512 BF16",
            Self::Int8Avx2 if vnni => "AVX-512F, AVX-512 VNNI",
            Self::F32Avx2 | Self::Int8Avx2 if avx512 => "AVX-512F",
            Self::F32Avx2 | Self::Int8Avx2 => "AVX2, FMA",
            Self::F32Neon => "NEON",
            Self::F32Generic => "none (plain Rust)",
        }
    }

    /// Whether this CPU can run the bf16 kernel.
    pub fn bf16_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bf16")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// The fastest f32 kernel this CPU runs.
    pub fn f32_best() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Self::F32Avx2;
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            Self::F32Neon
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            Self::F32Generic
        }
    }

    /// Whether this CPU can run `self`.
    pub fn available(self) -> bool {
        match self {
            Self::Bf16Avx512 => Self::bf16_available(),
            Self::F32Avx2 | Self::Int8Avx2 => Self::f32_best() == Self::F32Avx2,
            Self::F32Neon => cfg!(target_arch = "aarch64"),
            Self::F32Generic => true,
        }
    }

    /// The precision of this kernel's products.
    pub fn precision(self) -> Precision {
        match self {
            Self::Bf16Avx512 => Precision::Bf16,
            Self::Int8Avx2 => Precision::Int8,
            Self::F32Avx2 | Self::F32Neon | Self::F32Generic => Precision::F32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_ones_are_refused() {
        for p in [
            Precision::Auto,
            Precision::F32,
            Precision::Bf16,
            Precision::Int8,
        ] {
            assert_eq!(p.name().parse::<Precision>().expect("parses"), p);
        }
        assert_eq!(
            " FP32 ".parse::<Precision>().expect("parses"),
            Precision::F32
        );
        let error = "int4".parse::<Precision>().expect_err("unknown");
        assert!(
            error.to_string().contains("auto, f32, bf16 or int8"),
            "{error}"
        );
    }

    #[test]
    fn explicit_f32_is_always_available_and_bf16_only_with_the_instructions() {
        let kernel = Precision::F32.resolve().expect("f32 everywhere");
        assert_eq!(kernel.precision(), Precision::F32);
        assert!(kernel.available());
        match Precision::Bf16.resolve() {
            Ok(kernel) => assert!(Kernel::bf16_available() && kernel == Kernel::Bf16Avx512),
            Err(error) => {
                assert!(!Kernel::bf16_available());
                assert!(error.to_string().contains("AVX-512 BF16"), "{error}");
            }
        }
    }
}
