//! The ARM client a run uses: the cloud (`--cloud`, else az's active cloud), the endpoint, the
//! retry policy, the shared HTTP clients, and the sign-in that runs when the first request needs
//! a token (so bad input is reported first).

use crate::arm::auth::cache::DiskCache;
use crate::arm::auth::{self, AuthSettings, Credential};
use crate::arm::client::ArmClient;
use crate::arm::cloud::Cloud;
use crate::arm::cloud::ENDPOINT_ENV;
use crate::arm::retry::RetryPolicy;
use crate::arm::transport;
use crate::arm::transport::endpoint_from_env;
use crate::azconfig::AzConfig;
use crate::cli::global::GlobalArgs;
use crate::diagnostics::Diagnostics;
use crate::error::Result;
use std::time::Duration;

/// `--cloud`, else az's active cloud, with a warning where Trusted Access is not offered.
fn cloud_of(global: &GlobalArgs, config: &AzConfig, diagnostics: Diagnostics) -> Result<Cloud> {
    let (cloud, unknown_active_cloud) = Cloud::resolve(
        global.cloud,
        config.get("cloud", "name"),
        config.clouds_config().as_ref(),
    )?;
    if let Some(warning) = unknown_active_cloud {
        diagnostics.warn(&warning);
    }
    // A registered cloud (Azure Stack Hub, a private cloud) may offer it; nobody can tell here.
    if matches!(cloud, Cloud::AzureUsGovernment | Cloud::AzureChinaCloud) {
        diagnostics.warn(&format!(
            "Trusted Access is not offered in {} today; expect NoRegisteredProviderFound or InvalidResourceType errors",
            cloud.name()
        ));
    }
    Ok(cloud)
}

/// The ARM client: cloud, endpoint, retry policy, the shared HTTP client, and the sign-in that
/// runs when the first request needs a token (so bad input is reported first).
pub fn arm_client(
    global: &GlobalArgs,
    config: &AzConfig,
    diagnostics: Diagnostics,
) -> Result<ArmClient> {
    let cloud = cloud_of(global, config, diagnostics)?;
    let endpoint = endpoint_from_env(cloud)?;
    if std::env::var_os(ENDPOINT_ENV).is_some_and(|v| v.to_string_lossy().trim().is_empty()) {
        // As az treats an empty setting: unset. Said, so a script's blank variable is visible.
        diagnostics.verbose(&format!(
            "{} is set but empty: treated as unset; using {endpoint}",
            ENDPOINT_ENV
        ));
    }
    let retry = RetryPolicy {
        max_retries: global.max_retries,
        budget: Duration::from_secs(global.retry_budget),
        first_delay: Duration::from_millis(global.retry_delay_ms),
    };
    let http = transport::http_client(
        &endpoint,
        Duration::from_secs(global.request_timeout),
        diagnostics,
    )?;
    let direct_http =
        transport::direct_http_client(Duration::from_secs(global.request_timeout), diagnostics)?;
    let sign_in = {
        let (method, http, az_identity) = (global.auth, http.clone(), config.account_key());
        let token_cache = if global.no_token_cache {
            None
        } else {
            DiskCache::default_location()
        };
        move || {
            let env = auth::process_environment();
            let source = auth::choose(&env, method)?;
            Credential::new(
                source,
                &env,
                AuthSettings {
                    cloud,
                    token_cache: token_cache.clone(),
                    http: http.clone(),
                    direct_http: direct_http.clone(),
                    diagnostics,
                    az_identity: az_identity.clone(),
                },
            )
        }
    };
    let log_analytics = transport::log_analytics_from_env(cloud, &endpoint)?;
    Ok(
        ArmClient::new(endpoint, Box::new(sign_in), cloud, http, diagnostics, retry)
            .with_log_analytics(log_analytics),
    )
}
