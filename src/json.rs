//! JSON text written by hand where serde's general machinery costs more than the rest of the
//! work: the token check's answer and the JSON request line.

/// A JSON string, as serde_json writes it: text with nothing to escape (ids, names, paths) is
/// copied as it is.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail, and a &str always serializes.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_string_is_written_as_serde_json_writes_it() {
        for s in [
            "",
            "plain-id_123",
            "quote\"",
            "back\\slash",
            "tab\t",
            "nul\0",
            "\u{7f}",
            "ünï 日本 😀",
            "\u{1f}",
        ] {
            let mut ours = Vec::new();
            string(&mut ours, s);
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }
}
