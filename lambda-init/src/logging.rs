//! Logging as Lambda's advanced logging controls ask, with the behaviour of
//! `lambda_runtime::tracing::init_default_subscriber`: JSON lines when
//! `AWS_LAMBDA_LOG_FORMAT=JSON`, text otherwise; the level from
//! `AWS_LAMBDA_LOG_LEVEL` (or a plain level in `RUST_LOG`), INFO when
//! neither parses; `RUST_LOG`'s `target=level` directives, when it has any,
//! in place of that level; no timestamps (CloudWatch stamps every line) and no
//! targets. The runtime's function filters with `EnvFilter`, which links a
//! regular-expression engine for span and field filters no function uses;
//! `Targets` takes the same `target=level` directives without one.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Writes the line `emit` builds (a metrics line) to stdout in one `write`.
/// Stdout buffers 1 KiB, so a longer line written piece by piece (an EMF
/// line is) goes out in pieces, and where processes share one pipe (`cargo
/// lambda watch`'s instances of a function) another's line lands between them.
pub fn line_to_stdout(emit: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> std::io::Result<()> {
    line_to(std::io::stdout().lock(), emit)
}

fn line_to(
    mut out: impl std::io::Write,
    emit: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(2048);
    emit(&mut line)?;
    out.write_all(&line)?;
    out.flush()
}

/// Logs to stdout, which Lambda sends to CloudWatch.
pub fn init_subscriber() {
    init_subscriber_with_writer(std::io::stdout);
}

pub fn init_subscriber_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = filter(lambda_level.as_deref(), rust_log.as_deref());
    let builder = tracing_subscriber::fmt().with_target(false).without_time().with_writer(writer);
    // `try_init`: a second call (tests) keeps the first subscriber.
    let _ = if format.eq_ignore_ascii_case("json") {
        builder.json().finish().with(filter).try_init()
    } else {
        builder.finish().with(filter).try_init()
    };
}

/// The filter for these settings: `RUST_LOG`'s directives when it has any
/// that parse (others are reported and skipped, as `EnvFilter` does), else
/// the level Lambda asks for.
pub fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    if let Some(directives) = rust_log.and_then(directives) {
        return directives;
    }
    let level = lambda_level.or(rust_log).and_then(|level| LevelFilter::from_str(level).ok());
    Targets::new().with_default(level.unwrap_or(LevelFilter::INFO))
}

fn directives(rust_log: &str) -> Option<Targets> {
    let mut merged: Option<Targets> = None;
    for directive in rust_log.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let parsed = match Targets::from_str(directive) {
            Ok(parsed) => parsed,
            Err(error) => {
                eprintln!("ignoring `{directive}` in RUST_LOG: {error}");
                continue;
            }
        };
        let mut targets = merged.take().unwrap_or_default();
        if let Some(level) = parsed.default_level() {
            targets = targets.with_default(level);
        }
        merged = Some(targets.with_targets(parsed.iter().map(|(target, level)| (target.to_owned(), level))));
    }
    merged
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    fn allows(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn lambda_level_alone_sets_the_level() {
        let filter = filter(Some("DEBUG"), None);
        assert!(allows(&filter, "msk_consumer", Level::DEBUG));
        assert!(!allows(&filter, "msk_consumer", Level::TRACE));
    }

    #[test]
    fn info_when_nothing_is_set_or_nothing_parses() {
        for (lambda, rust) in [(None, None), (Some("FATAL"), None), (Some("loud"), Some("=="))] {
            let filter = filter(lambda, rust);
            assert!(allows(&filter, "any", Level::INFO), "{lambda:?} {rust:?}");
            assert!(!allows(&filter, "any", Level::DEBUG), "{lambda:?} {rust:?}");
        }
    }

    #[test]
    fn rust_log_directives_replace_the_lambda_level() {
        let filter = filter(Some("ERROR"), Some("warn,aws_smithy_runtime=debug"));
        assert!(allows(&filter, "aws_smithy_runtime::client", Level::DEBUG));
        assert!(allows(&filter, "msk_consumer", Level::WARN));
        assert!(!allows(&filter, "msk_consumer", Level::INFO));
    }

    #[test]
    fn a_bad_directive_is_skipped_not_fatal() {
        let filter = filter(None, Some("producer=debug,==,info"));
        assert!(allows(&filter, "producer", Level::DEBUG));
        assert!(allows(&filter, "other", Level::INFO));
    }

    #[test]
    fn a_line_built_in_many_writes_goes_out_in_one() {
        struct Writes(Vec<usize>);
        impl std::io::Write for Writes {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.push(buf.len());
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut out = Writes(Vec::new());
        line_to(&mut out, |line| {
            for _ in 0..3_000 {
                std::io::Write::write_all(line, b"x")?;
            }
            std::io::Write::write_all(line, b"\n")
        })
        .expect("written");
        assert_eq!(out.0, vec![3_001]);
    }
}
