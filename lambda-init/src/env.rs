//! Reading a function's settings from its environment, one rule for every
//! function: absent or blank is the default; otherwise a value the function
//! can use, or an error naming the variable, its value and what is expected.
//! Each reader takes a `lookup` (`std::env::var` in a function, a map in a
//! test).

use std::ops::RangeInclusive;
use std::str::FromStr;

/// A variable set to a value the function cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not valid: {reason}")]
pub struct InvalidSetting {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

impl InvalidSetting {
    pub fn new(name: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { name, value: value.into(), reason: reason.into() }
    }
}

/// A `lookup` over fixed pairs, as a test or a caller with its own
/// settings passes them.
pub fn from_pairs(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// `name` read through `lookup`; `None` when unset or blank.
pub fn set(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

/// A true/false setting (`1`/`0` too, in any case), `default` when unset or
/// blank.
pub fn flag(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, InvalidSetting> {
    let Some(value) = set(lookup, name) else { return Ok(default) };
    match value.trim().to_ascii_lowercase().as_str() {
        "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(InvalidSetting::new(name, value, "expected true or false")),
    }
}

/// `name` as a whole number within `range`, `None` when unset or blank; a
/// value that is not one is refused with `expected` (what to set instead).
pub fn bounded<T: FromStr + PartialOrd>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    range: RangeInclusive<T>,
    expected: &str,
) -> Result<Option<T>, InvalidSetting> {
    let Some(value) = set(lookup, name) else { return Ok(None) };
    match value.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(InvalidSetting::new(name, value, expected)),
    }
}

/// `name` read through `lookup` as a whole number within `range`, or `default`
/// when it is unset or blank.
pub fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    range: RangeInclusive<u32>,
) -> Result<u32, InvalidSetting> {
    let Some(value) = set(lookup, name) else {
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

    #[test]
    fn flags_and_bounded_numbers_follow_the_same_rule() {
        let lookup = |name: &str| match name {
            "YES" => Some("TRUE".to_owned()),
            "ZERO" => Some("0".to_owned()),
            "MAYBE" => Some("perhaps".to_owned()),
            "DAYS" => Some("8".to_owned()),
            "NONE" => Some(" ".to_owned()),
            _ => None,
        };
        assert_eq!((flag(&lookup, "YES", false), flag(&lookup, "ZERO", true)), (Ok(true), Ok(false)));
        assert_eq!(flag(&lookup, "UNSET", true), Ok(true));
        let maybe = flag(&lookup, "MAYBE", true).expect_err("not a flag");
        assert_eq!(maybe.to_string(), "MAYBE=\"perhaps\" is not valid: expected true or false");
        assert_eq!(bounded(&lookup, "DAYS", 1..=30u32, "days"), Ok(Some(8)));
        assert_eq!(bounded(&lookup, "NONE", 1..=30u32, "days"), Ok(None));
        let out = bounded(&lookup, "DAYS", 10..=30u32, "expected 10 to 30 days").expect_err("out of range");
        assert_eq!(out.to_string(), "DAYS=\"8\" is not valid: expected 10 to 30 days");
        assert!(bounded::<u32>(&lookup, "MAYBE", 1..=30, "days").is_err());
    }
}
