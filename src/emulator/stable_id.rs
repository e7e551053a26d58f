//! Stable GUID-shaped ids made from text, so generated principals, assignments and identities
//! are the same in every run and state file.

/// A UUID-shaped value that is the same for the same text (FNV-1a, twice), so generated
/// principal ids are stable across runs and state files.
pub fn stable_uuid(text: &str) -> String {
    let fnv = |offset: u64| {
        text.to_ascii_lowercase().bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}
