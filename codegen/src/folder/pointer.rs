//! JSON pointers in messages and in patch files: where a problem is
//! ([`ptr`]), whether a patch file's string is a pointer ([`is_pointer`]), and
//! how to fix one that is not ([`pointer_fix`]), over [`patches::pointer`].

use patches::pointer::Pointer;

/// The pointer of a problem inside a file: `/a/b`, or `(root)` for none.
pub(super) fn ptr(parts: &[&str]) -> String {
    if parts.is_empty() {
        return "(root)".into();
    }
    parts.iter().copied().collect::<Pointer>().to_string()
}

/// Whether `s` is a JSON pointer to something inside a document (RFC 6901,
/// not the whole document).
pub(super) fn is_pointer(s: &str) -> bool {
    !s.is_empty() && Pointer::parse(s).is_ok()
}

/// How to write `s` (not a pointer) as one.
pub(super) fn pointer_fix(s: &str) -> String {
    if s.starts_with('/') {
        "escape `~` as `~0` and `/` inside a name as `~1`".into()
    } else {
        format!("write \"/{}\"", s.replace('.', "/"))
    }
}
