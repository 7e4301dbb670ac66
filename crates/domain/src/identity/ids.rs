//! Object ids carry a type prefix (api.md): `usr_…`, `biz_…`, `ses_…`, `key_…`, `evt_…`.
//! The body is a UUIDv7 (time-ordered, so ids sort by creation and serve as cursors).

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// True when `id` is `<prefix>_` followed by 32 lowercase hex digits.
pub fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_their_prefix_and_sort_by_time() {
        let a = super::new_id("usr");
        let b = super::new_id("usr");
        assert!(super::is_id("usr", &a) && !super::is_id("ses", &a));
        assert!(a < b);
        assert!(!super::is_id("usr", "usr_XYZ"));
    }
}
