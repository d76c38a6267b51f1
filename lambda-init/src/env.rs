//! Reading a function's settings from its environment: one rule for numbers
//! (absent or blank is the default; otherwise a whole number within the
//! range, or an error naming the variable, its value and what is expected).

use std::ops::RangeInclusive;

/// A variable set to a value the function cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not valid: {reason}")]
pub struct InvalidSetting {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

/// `name` read through `lookup` as a whole number within `range`, or `default`
/// when it is unset or blank.
pub fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    range: RangeInclusive<u32>,
) -> Result<u32, InvalidSetting> {
    let Some(value) = lookup(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    let invalid = |reason: String| InvalidSetting { name, value: value.clone(), reason };
    let n: u32 = value.trim().parse().map_err(|_| invalid("expected a whole number".into()))?;
    if !range.contains(&n) {
        return Err(invalid(format!("expected {} to {}", range.start(), range.end())));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_blank_is_the_default_and_bad_values_are_named() {
        let lookup = |name: &str| match name {
            "BLANK" => Some("  ".to_owned()),
            "GOOD" => Some(" 42 ".to_owned()),
            "WORDS" => Some("lots".to_owned()),
            "BIG" => Some("500".to_owned()),
            _ => None,
        };
        assert_eq!(number(&lookup, "UNSET", 7, 1..=100), Ok(7));
        assert_eq!(number(&lookup, "BLANK", 7, 1..=100), Ok(7));
        assert_eq!(number(&lookup, "GOOD", 7, 1..=100), Ok(42));
        let words = number(&lookup, "WORDS", 7, 1..=100).expect_err("not a number");
        assert_eq!(words.to_string(), "WORDS=\"lots\" is not valid: expected a whole number");
        let big = number(&lookup, "BIG", 7, 1..=100).expect_err("too big");
        assert_eq!(big.to_string(), "BIG=\"500\" is not valid: expected 1 to 100");
    }
}
