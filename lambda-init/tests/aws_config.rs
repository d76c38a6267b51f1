//! The functions' SDK configuration comes from Lambda's variables alone:
//! region and credentials as Lambda sets them, a service's endpoint URL
//! variable honoured (the local stack relies on it), and a missing key
//! reported by name instead of a search through other providers.
//! One test: it changes this process's environment.

use aws_credential_types::provider::ProvideCredentials;

#[tokio::test]
async fn region_credentials_and_endpoint_come_from_lambdas_variables() {
    std::env::set_var("AWS_REGION", "eu-west-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDLAMBDA");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    std::env::set_var("AWS_SESSION_TOKEN", "token");
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1");
    std::env::set_var("AWS_MAX_ATTEMPTS", "1");
    let config = lambda_init::aws::load_from_env().await;
    let timeouts = config.timeout_config().expect("timeouts");
    assert_eq!(timeouts.operation_attempt_timeout(), Some(lambda_init::aws::ATTEMPT_TIMEOUT), "every attempt bounded");
    assert_eq!(timeouts.operation_timeout(), Some(lambda_init::aws::OPERATION_TIMEOUT), "every call bounded");
    assert_eq!(timeouts.connect_timeout(), Some(lambda_init::aws::CONNECT_TIMEOUT));
    assert_eq!(config.region().map(ToString::to_string).as_deref(), Some("eu-west-1"));
    let credentials = config.credentials_provider().expect("a provider").provide_credentials().await.expect("keys");
    assert_eq!(credentials.access_key_id(), "AKIDLAMBDA");
    assert_eq!(credentials.session_token(), Some("token"));
    // Nothing listens on port 1: the call fails there, not at AWS's endpoint.
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let error = dynamodb.list_tables().send().await.expect_err("nothing listens");
    let error = format!("{:?}", aws_smithy_types::error::display::DisplayErrorContext(&error));
    assert!(error.contains("127.0.0.1:1") || error.contains("Connection refused"), "{error}");

    std::env::remove_var("AWS_ACCESS_KEY_ID");
    let config = lambda_init::aws::load_from_env().await;
    let error = config.credentials_provider().expect("a provider").provide_credentials().await.expect_err("no key");
    assert!(format!("{error:?}").contains("AWS_ACCESS_KEY_ID"), "{error:?}");
}
