//! The deployed stack as `deploy`, `status`, `invoke` and `destroy` see it.

use aws_sdk_cloudformation::types::{Stack, StackStatus};

use crate::aws::describe;

/// CloudFormation answers a missing stack with a generic ValidationError
/// whose message says so; there is no modeled error to match.
pub fn is_missing<E, R>(err: &aws_sdk_cloudformation::error::SdkError<E, R>) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    describe(err).contains("does not exist")
}

/// The stack, or `None` when it does not exist.
pub async fn find(cf: &aws_sdk_cloudformation::Client, name: &str) -> anyhow::Result<Option<Stack>> {
    match cf.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => anyhow::bail!("looking up stack {name}: {}", describe(&e)),
    }
}

pub fn output<'a>(stack: &'a Stack, key: &str) -> Option<&'a str> {
    stack.outputs().iter().find(|o| o.output_key() == Some(key)).and_then(|o| o.output_value())
}

pub fn print_outputs(stack: &Stack) {
    if stack.outputs().is_empty() {
        return;
    }
    println!("Outputs:");
    for o in stack.outputs() {
        println!("  {:<20} {}", o.output_key().unwrap_or_default(), o.output_value().unwrap_or_default());
    }
}

/// Why a stack in this state cannot take a new change set, if it cannot.
pub fn blocked_reason(name: &str, status: &StackStatus) -> Option<String> {
    match status {
        StackStatus::RollbackComplete | StackStatus::RollbackFailed => Some(format!(
            "stack {name} is {} after a failed first deployment and cannot be updated: run `make destroy` (infra destroy), fix the cause shown in `infra status`, then deploy again",
            status.as_str()
        )),
        StackStatus::DeleteFailed => Some(format!(
            "stack {name} is DELETE_FAILED: run `make destroy` again (it retries the deletion)"
        )),
        s if s.as_str().ends_with("_IN_PROGRESS") && *s != StackStatus::ReviewInProgress => Some(format!(
            "stack {name} is busy ({}): wait for it to finish (`infra status`)",
            s.as_str()
        )),
        _ => None,
    }
}
