//! A Rust Lambda that does nothing: the floor the functions' cold starts are
//! measured against (`cargo bench -p msk-consumer --bench cold_start`). The
//! same runtime and release profile as the three functions, and nothing
//! else: no logging, no configuration, no AWS client; it answers `null`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async { Ok::<_, Error>(Value::Null) })).await
}
