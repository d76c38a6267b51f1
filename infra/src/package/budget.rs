//! Size budgets of the function zips. A zip is what Lambda fetches and
//! unpacks before every cold start, so it must not creep back up: `make
//! build` and `infra package` fail on a function past its budget, naming its
//! size and the budget (BENCHMARKS.md, "The Lambda zips", has the sizes).
//! `ZIP_BUDGETS=function=bytes,…` overrides budgets for one run (the tests
//! lower them); the budgets themselves live here.

use std::fmt;

/// Bytes of `bootstrap.zip` each function may take (decimal MB). The topic
/// creator and the forwarder carry librdkafka and OpenSSL (MSK IAM needs
/// OAUTHBEARER).
pub const BUDGETS: [(&str, u64); 4] = [
    ("producer", 3_000_000),
    ("msk-consumer", 3_000_000),
    ("topic-creator", 6_000_000),
    ("kinesis-forwarder", 6_000_000),
];

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("ZIP_BUDGETS: `{0}` is not function=bytes (functions: producer, msk-consumer, topic-creator, kinesis-forwarder)")]
    Override(String),
    #[error("{} past its size budget:\n{}", plural(.0.len()), .0.iter().map(|z| format!("  {z}")).collect::<Vec<_>>().join("\n"))]
    Over(Vec<ZipSize>),
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 function zip is".into()
    } else {
        format!("{n} function zips are")
    }
}

/// One function's zip beside its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipSize {
    pub function: String,
    pub bytes: u64,
    pub budget: u64,
}

impl ZipSize {
    pub fn fits(&self) -> bool {
        self.bytes <= self.budget
    }
}

impl fmt::Display for ZipSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, budget) = (grouped(self.bytes), grouped(self.budget));
        if self.fits() {
            write!(
                f,
                "{}: {size} bytes, budget {budget} ({} to spare)",
                self.function,
                grouped(self.budget - self.bytes)
            )
        } else {
            write!(
                f,
                "{}: bootstrap.zip is {size} bytes, over its budget of {budget} bytes by {}",
                self.function,
                grouped(self.bytes - self.budget)
            )
        }
    }
}

/// The budgets with `overrides` (`function=bytes`, comma-separated) applied.
pub fn budgets(overrides: &str) -> Result<Vec<(String, u64)>, BudgetError> {
    let mut budgets: Vec<(String, u64)> = BUDGETS.iter().map(|(f, b)| ((*f).to_owned(), *b)).collect();
    for item in overrides.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let parsed = item.split_once('=').and_then(|(f, b)| Some((f.trim(), b.trim().replace('_', "").parse().ok()?)));
        let Some((function, bytes)) = parsed else { return Err(BudgetError::Override(item.to_owned())) };
        let Some(slot) = budgets.iter_mut().find(|(f, _)| f == function) else {
            return Err(BudgetError::Override(item.to_owned()));
        };
        slot.1 = bytes;
    }
    Ok(budgets)
}

/// Every zip beside its budget; an error listing those past it.
pub fn check(zips: &[(&str, u64)], budgets: &[(String, u64)]) -> Result<Vec<ZipSize>, BudgetError> {
    let sizes: Vec<ZipSize> = zips
        .iter()
        .map(|(function, bytes)| ZipSize {
            function: (*function).to_owned(),
            bytes: *bytes,
            budget: budgets.iter().find(|(f, _)| f == function).map_or(u64::MAX, |(_, b)| *b),
        })
        .collect();
    let over: Vec<ZipSize> = sizes.iter().filter(|z| !z.fits()).cloned().collect();
    if over.is_empty() {
        Ok(sizes)
    } else {
        Err(BudgetError::Over(over))
    }
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zip_past_its_budget_is_named_with_both_sizes() {
        let budgets = budgets("").expect("defaults");
        let error = check(&[("producer", 2_421_550), ("msk-consumer", 3_082_142)], &budgets).expect_err("over");
        let message = error.to_string();
        assert!(message.starts_with("1 function zip is past its size budget"), "{message}");
        assert!(
            message.contains(
                "msk-consumer: bootstrap.zip is 3,082,142 bytes, over its budget of 3,000,000 bytes by 82,142"
            ),
            "{message}"
        );
        assert!(!message.contains("producer"), "{message}");
    }

    #[test]
    fn zips_within_budget_report_what_is_left() {
        let sizes = check(&[("topic-creator", 5_167_896)], &budgets("").expect("defaults")).expect("fits");
        assert_eq!(sizes[0].to_string(), "topic-creator: 5,167,896 bytes, budget 6,000,000 (832,104 to spare)");
    }

    #[test]
    fn overrides_lower_one_budget_and_refuse_unknown_functions() {
        let budgets = budgets("producer=1_000, msk-consumer = 2000").expect("overrides");
        assert!(budgets.contains(&("producer".into(), 1_000)));
        assert!(budgets.contains(&("msk-consumer".into(), 2_000)));
        assert!(budgets.contains(&("topic-creator".into(), 6_000_000)));
        assert!(matches!(super::budgets("consumer=5"), Err(BudgetError::Override(_))));
        assert!(matches!(super::budgets("producer=lots"), Err(BudgetError::Override(_))));
    }
}
