//! The benchmark's deterministic randomness: the tests' SplitMix64 (the dev crate
//! `pkgdeck-rng`), with the benchmark's own seed mixing, so the generated registry is the same
//! on every machine and every run and its cached file can be reused.

pub use pkgdeck_rng::Rng;

/// The generator for `seed`, mixed as the benchmark has always mixed it (the cached registry
/// depends on this sequence).
pub fn seeded(seed: u64) -> Rng {
    Rng::new(seed ^ 0x9e37_79b9_7f4a_7c15)
}
