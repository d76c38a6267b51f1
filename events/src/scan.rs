//! A minimal JSON reader for the fast paths in [`crate::fast`]. It reads a
//! strict subset of JSON (strings without escapes, integers, `null`) over
//! text already known to be UTF-8, and answers `None` for anything outside
//! that subset, valid JSON or not: callers then parse with serde_json, which
//! accepts the rest and words the errors. `None` never means "invalid".

use wide::u8x16;

/// A field name the fast paths know, with its quoted form as the low bytes
/// of a 16-byte word (names of up to 14 bytes) for [`Scanner::field`].
pub(crate) struct FieldName {
    name: &'static str,
    quoted: u128,
    /// Zero for a name too long for the word: it is only ever looked up.
    mask: u128,
}

impl FieldName {
    pub(crate) const fn new(name: &'static str) -> Self {
        let bytes = name.as_bytes();
        let fits = bytes.len() <= 14;
        let (mut quoted, mut mask) = (0u128, 0u128);
        if fits {
            let mut word = [0u8; 16];
            let mut keep = [0u8; 16];
            word[0] = b'"';
            keep[0] = 0xff;
            let mut i = 0;
            while i < bytes.len() {
                word[i + 1] = bytes[i];
                keep[i + 1] = 0xff;
                i += 1;
            }
            word[i + 1] = b'"';
            keep[i + 1] = 0xff;
            quoted = u128::from_le_bytes(word);
            mask = u128::from_le_bytes(keep);
        }
        Self { name, quoted, mask }
    }
}

/// A position in the text being read.
pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips JSON whitespace and returns the next byte without taking it.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        loop {
            let b = *bytes.get(self.pos)?;
            // Every JSON whitespace byte is at most a space: one test for the
            // usual case, compact JSON.
            if b > b' ' || !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
    }

    /// Takes `byte` (after whitespace), or answers `None`.
    pub(crate) fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Takes `byte` if it comes next; tells whether it did.
    pub(crate) fn eat_if(&mut self, byte: u8) -> bool {
        self.eat(byte).is_some()
    }

    /// True once only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// A string without escapes, borrowed from the text.
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        // The first byte that is not plain string content must be the closing
        // quote: an escape needs unescaping (serde_json's job), and a raw
        // control byte is not JSON.
        let len = string_end(&self.bytes()[start..])?;
        let end = start + len;
        if self.bytes()[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        // Both ends sit next to an ASCII quote, so they are char boundaries.
        self.text.get(start..end)
    }

    /// Which of `fields` the next field name is (its index), its colon taken.
    /// Producers write fields in a fixed order, so `fields[next]` (and the one
    /// after, in case an optional field was left out) is compared as one
    /// 16-byte word; any other name is scanned as a string and looked up. An
    /// unknown name answers `None`, as the fast paths decline unknown fields.
    pub(crate) fn field(&mut self, fields: &[FieldName], next: usize) -> Option<usize> {
        self.peek()?;
        let rest = &self.bytes()[self.pos..];
        if let Some(word) = rest.first_chunk::<16>().map(|w| u128::from_le_bytes(*w)) {
            for i in [next, next + 1] {
                let Some(field) = fields.get(i) else { break };
                if field.mask != 0 && word & field.mask == field.quoted {
                    self.pos += field.name.len() + 2;
                    self.eat(b':')?;
                    return Some(i);
                }
            }
        }
        let name = self.string()?;
        self.eat(b':')?;
        fields.iter().position(|f| f.name == name)
    }

    /// Takes a `null` if one comes next; tells whether it did.
    pub(crate) fn null(&mut self) -> Option<bool> {
        if self.peek()? != b'n' {
            return Some(false);
        }
        self.text.get(self.pos..)?.starts_with("null").then(|| self.pos += 4)?;
        Some(true)
    }

    /// A string, or `None` inside `Some` for `null`.
    pub(crate) fn string_or_null(&mut self) -> Option<Option<&'a str>> {
        if self.null()? {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// A JSON integer (`-?(0|[1-9][0-9]*)`) of at most 18 digits, so it
    /// fits an `i64`; fractions, exponents and longer numbers are left to
    /// serde_json.
    pub(crate) fn int(&mut self) -> Option<i64> {
        self.peek()?;
        let bytes = &self.bytes()[self.pos..];
        let negative = bytes.first() == Some(&b'-');
        let digits = &bytes[usize::from(negative)..];
        let (mut magnitude, mut len) = (0i64, 0);
        for &d in digits.iter().take(18) {
            if !d.is_ascii_digit() {
                break;
            }
            magnitude = magnitude * 10 + i64::from(d - b'0');
            len += 1;
        }
        // serde_json reads `-0` as the float -0.0 (keeping the sign), which
        // no integer field accepts.
        if len == 0 || (len > 1 && digits[0] == b'0') || (negative && magnitude == 0) {
            return None;
        }
        if matches!(digits.get(len), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
            return None;
        }
        self.pos += usize::from(negative) + len;
        Some(if negative { -magnitude } else { magnitude })
    }

    /// An integer, or `None` inside `Some` for `null`.
    pub(crate) fn int_or_null(&mut self) -> Option<Option<i64>> {
        if self.null()? {
            return Some(None);
        }
        self.int().map(Some)
    }

    /// The text of an array of `{"name": [numbers]}` objects (or `null`)
    /// without reading the numbers: they are over half of a Camel batch's
    /// bytes and are only needed for dead letters. A list ends at the first
    /// `]` unless a quote or bracket comes first (a string or an array inside,
    /// which a list of numbers never has): then serde_json reads the event.
    /// Anything else wrong inside the list is found when the headers are parsed.
    pub(crate) fn header_list(&mut self) -> Option<Option<&'a str>> {
        if self.null()? {
            return Some(None);
        }
        let start = self.pos;
        self.eat(b'[')?;
        if !self.eat_if(b']') {
            loop {
                self.eat(b'{')?;
                self.string()?;
                self.eat(b':')?;
                self.eat(b'[')?;
                let len = memchr::memchr3(b']', b'[', b'"', &self.bytes()[self.pos..])?;
                if self.bytes()[self.pos + len] != b']' {
                    return None;
                }
                self.pos += len + 1;
                self.eat(b'}')?;
                if self.eat_if(b']') {
                    break;
                }
                self.eat(b',')?;
            }
        }
        self.text.get(start..self.pos).map(Some)
    }
}

/// Where plain string content ends: the first closing quote, escape, or raw
/// control byte (not JSON). Sixteen bytes at a time with SIMD compares
/// (`wide` picks SSE2 on x86_64, NEON on arm64, plain code elsewhere), the
/// tail byte by byte: base64 values are hundreds of bytes long, and `memchr`
/// cannot look for a range (control bytes).
#[inline]
pub(crate) fn string_end(bytes: &[u8]) -> Option<usize> {
    let (quote, backslash, space) = (u8x16::splat(b'"'), u8x16::splat(b'\\'), u8x16::splat(0x20));
    let mut chunks = bytes.chunks_exact(16);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut lanes = [0u8; 16];
        lanes.copy_from_slice(chunk);
        let v = u8x16::new(lanes);
        let mask = (v.simd_eq(quote) | v.simd_eq(backslash) | v.simd_lt(space)).to_bitmask();
        if mask != 0 {
            return Some(offset + mask.trailing_zeros() as usize);
        }
        offset += 16;
    }
    chunks.remainder().iter().position(|&b| ends_string(b)).map(|i| offset + i)
}

/// [`string_end`]'s test for one byte.
fn ends_string(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_borrow_and_anything_needing_unescaping_is_declined() {
        let mut s = Scanner::new(r#"  "plain" "a\"b" "#);
        assert_eq!(s.string(), Some("plain"));
        assert_eq!(s.string(), None);
        assert_eq!(Scanner::new("\"tab\there\"").string(), None, "raw control bytes are not JSON");
        assert_eq!(Scanner::new("\"unterminated").string(), None);
        assert_eq!(Scanner::new("\"é\"").string(), Some("é"));
    }

    #[test]
    fn integers_are_json_integers_that_fit() {
        let ints = |t: &str| Scanner::new(t).int();
        assert_eq!(ints("0"), Some(0));
        assert_eq!(ints(" -42,"), Some(-42));
        assert_eq!(ints("1764000000123"), Some(1_764_000_000_123));
        assert_eq!(ints("-999999999999999999]"), Some(-999_999_999_999_999_999));
        for declined in ["01", "-", "-x", "-0", "1.5", "1e3", "1E3", "1000000000000000000", "x", ""] {
            assert_eq!(ints(declined), None, "{declined}");
        }
    }

    #[test]
    fn header_lists_are_returned_raw_and_end_at_their_own_bracket() {
        let text = r#"[{"a":[1,-2, 3]},{"b":[]}] tail"#;
        let mut s = Scanner::new(text);
        assert_eq!(s.header_list(), Some(Some(r#"[{"a":[1,-2, 3]},{"b":[]}]"#)));
        assert_eq!(Scanner::new("null").header_list(), Some(None));
        assert_eq!(Scanner::new("[]").header_list(), Some(Some("[]")));
        // Left unread: found when the headers are parsed.
        assert_eq!(Scanner::new(r#"[{"a":[1 x]}]"#).header_list(), Some(Some(r#"[{"a":[1 x]}]"#)));
        for declined in [
            r#"[{"a":[1,"]"]}]"#,
            r#"[{"a":[1,[2]]}]"#,
            r#"[{"a":[1],"b":[2]}]"#,
            r#"[{"a":1}]"#,
            r#"{"a":[1]}"#,
            "[{\"a\":[1]",
        ] {
            assert_eq!(Scanner::new(declined).header_list(), None, "{declined}");
        }
    }

    #[test]
    fn lanes_and_bytes_agree_on_every_byte_at_every_place() {
        for byte in 0..=255u8 {
            for len in [1, 15, 16, 17, 33, 40] {
                for at in [0, len / 2, len - 1] {
                    let mut bytes = vec![b'A'; len];
                    bytes[at] = byte;
                    let expected = ends_string(byte).then_some(at);
                    assert_eq!(string_end(&bytes), expected, "byte {byte:#x} at {at} of {len}");
                }
            }
        }
        assert!(ends_string(b'"') && ends_string(0x1f) && !ends_string(b' ') && !ends_string(0xc3));
    }

    #[test]
    fn field_names_are_recognised_predicted_or_not() {
        const FIELDS: [FieldName; 4] = [
            FieldName::new("offset"),
            FieldName::new("key"),
            FieldName::new("partition"),
            FieldName::new("a_name_longer_than_14"),
        ];
        let text = r#"{"offset" : 1, "offsetX":2, "partition":3, "a_name_longer_than_14":4, "offset":5}"#;
        let mut s = Scanner::new(text);
        s.eat(b'{');
        assert_eq!(s.field(&FIELDS, 0), Some(0));
        assert_eq!(s.int(), Some(1));
        s.eat(b',');
        assert_eq!(s.field(&FIELDS, 0), None, "a longer name is not the predicted one, nor known");
        let mut s = Scanner::new(&text[text.find("\"partition").expect("in text")..]);
        assert_eq!(s.field(&FIELDS, 1), Some(2), "the one after the next");
        assert_eq!(s.int(), Some(3));
        s.eat(b',');
        assert_eq!(s.field(&FIELDS, 3), Some(3), "too long for a word: looked up");
        assert_eq!(s.int(), Some(4));
        s.eat(b',');
        assert_eq!(s.field(&FIELDS, 2), Some(0), "not predicted: looked up");
        assert_eq!(Scanner::new(r#""off\u0073et":1"#).field(&FIELDS, 0), None, "escapes are declined");
        assert_eq!(Scanner::new(r#""offset":1"#).field(&FIELDS, 0), Some(0), "short texts are scanned");
    }

    #[test]
    fn literals_and_nulls() {
        let mut s = Scanner::new(" null nul");
        assert_eq!(s.string_or_null(), Some(None));
        assert_eq!(s.int_or_null(), None);
        assert_eq!(Scanner::new("7").null(), Some(false));
        assert!(Scanner::new("  \n").at_end());
    }
}
