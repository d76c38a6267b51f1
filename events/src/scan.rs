//! A minimal JSON reader for the fast paths in [`crate::fast`]. It reads a
//! strict subset of JSON (strings without escapes, integers, `null`) over
//! text already known to be UTF-8, and answers `None` for anything outside
//! that subset, valid JSON or not: callers then parse with serde_json, which
//! accepts the rest and words the errors. `None` never means "invalid".

use wide::u8x16;

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
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
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
        let len = find_first::<StringEnd>(&self.bytes()[start..])?;
        let end = start + len;
        if self.bytes()[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        // Both ends sit next to an ASCII quote, so they are char boundaries.
        self.text.get(start..end)
    }

    /// An object's field name followed by its colon. Producers write fields
    /// in a fixed order, so the caller names the one it expects next: that
    /// one is recognised by comparing bytes instead of scanning a string.
    pub(crate) fn field(&mut self, predicted: Option<&str>) -> Option<&'a str> {
        self.peek()?;
        if let Some(name) = predicted {
            let rest = &self.bytes()[self.pos..];
            let n = name.len();
            if rest.len() > n + 1 && rest[0] == b'"' && &rest[1..=n] == name.as_bytes() && rest[n + 1] == b'"' {
                let found = self.text.get(self.pos + 1..self.pos + 1 + n)?;
                self.pos += n + 2;
                self.eat(b':')?;
                return Some(found);
            }
        }
        let name = self.string()?;
        self.eat(b':')?;
        Some(name)
    }

    /// A string, or `None` inside `Some` for `null`.
    pub(crate) fn string_or_null(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            return Some(None);
        }
        self.string().map(Some)
    }

    /// A JSON integer (`-?(0|[1-9][0-9]*)`) that fits an `i64`; fractions,
    /// exponents and larger numbers are left to serde_json.
    pub(crate) fn int(&mut self) -> Option<i64> {
        self.peek()?;
        let bytes = self.bytes();
        let negative = bytes[self.pos] == b'-';
        let start = self.pos + usize::from(negative);
        let digits = bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 18 || (digits > 1 && bytes[start] == b'0') {
            return None;
        }
        let end = start + digits;
        if matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let magnitude = bytes[start..end].iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
        self.pos = end;
        Some(if negative { -magnitude } else { magnitude })
    }

    /// An integer, or `None` inside `Some` for `null`.
    pub(crate) fn int_or_null(&mut self) -> Option<Option<i64>> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            return Some(None);
        }
        self.int().map(Some)
    }

    /// Takes `word` (`null`, `true`, ...) after whitespace.
    pub(crate) fn literal(&mut self, word: &str) -> Option<()> {
        self.peek()?;
        self.text.get(self.pos..)?.starts_with(word).then(|| self.pos += word.len())
    }

    /// The text of an array of `{"name": [numbers]}` objects (or `null`)
    /// without reading the numbers: they are over half of a Camel batch's
    /// bytes and are only needed for dead letters. The numbers' bytes are
    /// checked to be digits, signs, commas and whitespace, so the brackets
    /// found are the JSON's own; their syntax is checked when parsed.
    pub(crate) fn header_list(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? == b'n' {
            self.literal("null")?;
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
                let len = find_first::<NumberListEnd>(&self.bytes()[self.pos..])?;
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

/// Where the first byte of a class is: sixteen bytes at a time with SIMD
/// compares (`wide` picks SSE2 on x86_64, NEON on arm64, plain code
/// elsewhere), the tail byte by byte. Base64 values and header lists are
/// hundreds of bytes long, and `memchr` cannot look for a range (control
/// bytes) or a set's complement (anything but digits).
#[inline]
fn find_first<C: ByteClass>(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(16);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut lanes = [0u8; 16];
        lanes.copy_from_slice(chunk);
        let mask = C::lanes(u8x16::new(lanes)).to_bitmask();
        if mask != 0 {
            return Some(offset + mask.trailing_zeros() as usize);
        }
        offset += 16;
    }
    chunks.remainder().iter().position(|&b| C::byte(b)).map(|i| offset + i)
}

/// A set of bytes, tested sixteen lanes at a time or one byte at a time.
trait ByteClass {
    /// All ones in each lane whose byte is in the class.
    fn lanes(v: u8x16) -> u8x16;
    fn byte(b: u8) -> bool;
}

/// What ends plain string content: the closing quote, an escape, or a raw
/// control byte (not JSON).
struct StringEnd;

impl ByteClass for StringEnd {
    fn lanes(v: u8x16) -> u8x16 {
        v.simd_eq(u8x16::splat(b'"')) | v.simd_eq(u8x16::splat(b'\\')) | v.simd_lt(u8x16::splat(0x20))
    }
    fn byte(b: u8) -> bool {
        b == b'"' || b == b'\\' || b < 0x20
    }
}

/// Anything a list of integers does not have between its brackets.
struct NumberListEnd;

impl ByteClass for NumberListEnd {
    fn lanes(v: u8x16) -> u8x16 {
        let digit = (v - u8x16::splat(b'0')).simd_lt(u8x16::splat(10));
        let punctuation = [b',', b'-', b' ', b'\n', b'\r', b'\t']
            .into_iter()
            .fold(digit, |inside, b| inside | v.simd_eq(u8x16::splat(b)));
        !punctuation
    }
    fn byte(b: u8) -> bool {
        !(b.is_ascii_digit() || matches!(b, b',' | b'-' | b' ' | b'\n' | b'\r' | b'\t'))
    }
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
        for declined in ["01", "-", "1.5", "1e3", "1E3", "9999999999999999999", "x", ""] {
            assert_eq!(ints(declined), None, "{declined}");
        }
    }

    #[test]
    fn header_lists_are_returned_raw_and_checked_for_stray_bytes() {
        let text = r#"[{"a":[1,-2, 3]},{"b":[]}] tail"#;
        let mut s = Scanner::new(text);
        assert_eq!(s.header_list(), Some(Some(r#"[{"a":[1,-2, 3]},{"b":[]}]"#)));
        assert_eq!(Scanner::new("null").header_list(), Some(None));
        assert_eq!(Scanner::new("[]").header_list(), Some(Some("[]")));
        for declined in [r#"[{"a":[1,"x"]}]"#, r#"[{"a":[1],"b":[2]}]"#, r#"[{"a":1}]"#, r#"{"a":[1]}"#, "[{\"a\":[1]"] {
            assert_eq!(Scanner::new(declined).header_list(), None, "{declined}");
        }
    }

    #[test]
    fn lanes_and_bytes_agree_on_every_byte_at_every_place() {
        fn check<C: ByteClass>(filler: u8) {
            for byte in 0..=255u8 {
                for len in [1, 15, 16, 17, 33, 40] {
                    for at in [0, len / 2, len - 1] {
                        let mut bytes = vec![filler; len];
                        bytes[at] = byte;
                        let expected = (C::byte(byte)).then_some(at);
                        assert_eq!(find_first::<C>(&bytes), expected, "byte {byte:#x} at {at} of {len}");
                    }
                }
            }
        }
        check::<StringEnd>(b'A');
        check::<NumberListEnd>(b'7');
        assert!(StringEnd::byte(b'"') && StringEnd::byte(0x1f) && !StringEnd::byte(b' ') && !StringEnd::byte(0xc3));
        assert!(NumberListEnd::byte(b']') && NumberListEnd::byte(b'"') && !NumberListEnd::byte(b'-'));
    }

    #[test]
    fn predicted_fields_are_taken_whole_and_others_read_as_strings() {
        let mut s = Scanner::new(r#"{"offset" : 1, "offsetX":2, "partition":3}"#);
        s.eat(b'{');
        assert_eq!(s.field(Some("offset")), Some("offset"));
        assert_eq!(s.int(), Some(1));
        s.eat(b',');
        assert_eq!(s.field(Some("offset")), Some("offsetX"), "a longer name is not the predicted one");
        assert_eq!(s.int(), Some(2));
        s.eat(b',');
        assert_eq!(s.field(None), Some("partition"));
        assert_eq!(Scanner::new(r#""a\"b":1"#).field(Some("a")), None);
    }

    #[test]
    fn literals_and_nulls() {
        let mut s = Scanner::new(" null nul");
        assert_eq!(s.string_or_null(), Some(None));
        assert_eq!(s.int_or_null(), None);
        assert!(Scanner::new("  \n").at_end());
    }
}
