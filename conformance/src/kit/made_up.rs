//! Made-up credentials a negative check sends (an unknown refresh token, code, device
//! code or client id). Each one is new: the reference server's client observation judges
//! the same failing request sent four times within a minute as `repeated-failure`
//! (issue 22 item 3), and a check that only needs a refusal, or a burst whose refusals
//! only need counting, must not add that finding. The unique suffix is scrubbed from
//! transcripts (`redact`), so a snapshot shows the stem.

use crate::redact::MADE_UP_MARK;

/// `stem` with a suffix no other request carries: `conformance-unknown-refresh-madeup` and
/// 16 hex digits.
pub fn made_up(stem: &str) -> String {
    format!("{stem}{MADE_UP_MARK}{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_made_up_value_is_new() {
        let a = made_up("conformance-unknown-refresh");
        assert!(a.starts_with("conformance-unknown-refresh-madeup"));
        assert_ne!(a, made_up("conformance-unknown-refresh"));
    }
}
