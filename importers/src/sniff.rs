//! What detection looks at in the first bytes of a file.

/// Whether `head` starts (after a byte order mark and white space) like
/// JSON: an object or an array.
pub(crate) fn starts_json(head: &[u8]) -> bool {
    let first = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'[' | b'{'))
}

/// Whether `head` starts like JSON rows: an object, or an array whose
/// first item is one.
pub(crate) fn starts_json_object(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut bytes = head.iter().skip_while(|b| b.is_ascii_whitespace());
    match bytes.next() {
        Some(b'{') => true,
        Some(b'[') => bytes.find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
        _ => false,
    }
}

/// Whether `needle` occurs in `head`.
pub(crate) fn contains(head: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(head, needle).is_some()
}
