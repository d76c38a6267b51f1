//! What a new user reads first: `infra --help` explains the deploy cycle and
//! its cost, and refuses bad input with a message that says what to do.

use std::process::Command;

fn infra(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_infra")).args(args).env_remove("STACK_NAME").output().expect("run infra")
}

#[test]
fn help_walks_through_deploy_status_logs_invoke_and_destroy_with_cost_notes() {
    let out = infra(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "infra deploy",
        "infra status",
        "infra logs --follow",
        "infra invoke",
        "infra destroy --purge",
        "bill by the hour",
        "--profile",
        "--region",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let logs = String::from_utf8_lossy(&infra(&["logs", "--help"]).stdout).into_owned();
    for needle in ["--follow", "--since", "--filter", "--function"] {
        assert!(logs.contains(needle), "logs --help lacks {needle}:\n{logs}");
    }
}

#[test]
fn a_stack_name_that_would_break_derived_names_is_refused() {
    let out = infra(&["--stack-name", "has_underscore", "status"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stack name \"has_underscore\" is not valid"), "{err}");
}

#[test]
fn the_template_subcommand_needs_no_aws_access_and_refuses_impossible_replication() {
    let out = infra(&["template", "--brokers", "2", "--replication-factor", "3"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("replication"), "{err}");
}
