//! Azure clouds: each maps to its ARM endpoint, sign-in authority and token scope. The three
//! public clouds are built in; others (Azure Stack Hub, private clouds) come from az's
//! `clouds.config`, written by `az cloud register`.

/// The variable that points the tool at another ARM endpoint (the emulator, a private cloud).
pub const ENDPOINT_ENV: &str = "AKS_TRUSTEDACCESS_ARM_ENDPOINT";
/// The variable that points Log Analytics' query API (`--workspace`) elsewhere. Unset while
/// `AKS_TRUSTEDACCESS_ARM_ENDPOINT` is set: the query API is on the ARM endpoint's origin (the
/// emulator serves both).
pub const LOG_ANALYTICS_ENDPOINT_ENV: &str = "AKS_TRUSTEDACCESS_LOGANALYTICS_ENDPOINT";

use crate::error::{Error, Result};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};

/// Whom a request's token is for: ARM, or Log Analytics' query API (`--workspace`). Each has
/// its own token; everything else about a request (request ids, retries, limits, error
/// decoding) is the one path in `client.rs`; `ArmClient::scope_for` names the scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Arm,
    LogAnalytics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cloud {
    #[value(name = "AzureCloud", alias = "azurecloud")]
    AzureCloud,
    #[value(name = "AzureUSGovernment", alias = "azureusgovernment")]
    AzureUsGovernment,
    #[value(name = "AzureChinaCloud", alias = "azurechinacloud")]
    AzureChinaCloud,
    /// A cloud registered with `az cloud register` (read once per process, so it lives as long
    /// as the process and the enum stays `Copy`).
    #[value(skip)]
    Registered(&'static RegisteredCloud),
}

/// The endpoints of a registered cloud, from its `clouds.config` section.
#[derive(Debug, PartialEq, Eq)]
pub struct RegisteredCloud {
    pub name: String,
    /// `endpoint_resource_manager`, without a trailing slash.
    pub resource_manager: String,
    /// `endpoint_active_directory`: the sign-in authority.
    pub active_directory: String,
    /// `endpoint_active_directory_resource_id`: the audience of ARM tokens (az's resource).
    pub resource_id: String,
    /// `endpoint_log_analytics_resource_id`: Log Analytics' query endpoint and token audience,
    /// when the cloud has one.
    pub log_analytics: Option<String>,
}

impl RegisteredCloud {
    /// The section `name` of `clouds.config`, when it names at least a resource manager.
    pub fn from_clouds_config(ini: &ini::Ini, name: &str) -> Option<Self> {
        let section = ini
            .iter()
            .find(|(s, _)| s.is_some_and(|s| s.eq_ignore_ascii_case(name)))
            .map(|(_, props)| props)?;
        let get = |key: &str| {
            section
                .get(key)
                .map(|v| v.trim().trim_end_matches('/').to_string())
                .filter(|v| !v.is_empty())
        };
        let resource_manager = get("endpoint_resource_manager")?;
        Some(RegisteredCloud {
            name: name.to_string(),
            active_directory: get("endpoint_active_directory")
                .unwrap_or_else(|| Cloud::AzureCloud.authority().to_string()),
            resource_id: get("endpoint_active_directory_resource_id")
                .unwrap_or_else(|| resource_manager.clone()),
            log_analytics: get("endpoint_log_analytics_resource_id"),
            resource_manager,
        })
    }
}

impl Cloud {
    /// `--cloud`, else az's active cloud (`configured`: `[cloud] name`, `AZURE_CLOUD_NAME`, read
    /// by the caller so this layer does not depend on az's configuration): a built-in one or one
    /// registered in `clouds_config`; else AzureCloud. An active cloud this tool cannot find is an
    /// error only when it decides the endpoint: with `AKS_TRUSTEDACCESS_ARM_ENDPOINT` set the tool
    /// runs on AzureCloud's sign-in settings, and the second value is the warning to show.
    pub fn resolve(
        flag: Option<Cloud>,
        configured: Option<String>,
        clouds_config: Option<&ini::Ini>,
    ) -> Result<(Cloud, Option<String>)> {
        if let Some(cloud) = flag {
            return Ok((cloud, None));
        }
        let Some(name) = configured else {
            return Ok((Cloud::AzureCloud, None));
        };
        if let Ok(cloud) = <Cloud as clap::ValueEnum>::from_str(&name, true) {
            return Ok((cloud, None));
        }
        if let Some(registered) =
            clouds_config.and_then(|ini| RegisteredCloud::from_clouds_config(ini, &name))
        {
            return Ok((Cloud::Registered(Box::leak(Box::new(registered))), None));
        }
        let endpoint_set = std::env::var(ENDPOINT_ENV).is_ok_and(|v| !v.trim().is_empty());
        if endpoint_set {
            return Ok((
                Cloud::AzureCloud,
                Some(format!(
                    "az's active cloud '{name}' is neither built in nor in clouds.config; \
                     using {} and AzureCloud's sign-in settings",
                    ENDPOINT_ENV
                )),
            ));
        }
        Err(Error::Config {
            message: format!(
                "az's active cloud '{name}' is neither built in nor registered in clouds.config"
            ),
            hint: Some(
                "register it with 'az cloud register', or use --cloud AzureCloud, \
                 AzureUSGovernment or AzureChinaCloud"
                    .into(),
            ),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "AzureCloud",
            Cloud::AzureUsGovernment => "AzureUSGovernment",
            Cloud::AzureChinaCloud => "AzureChinaCloud",
            Cloud::Registered(r) => &r.name,
        }
    }

    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "https://management.azure.com",
            Cloud::AzureUsGovernment => "https://management.usgovcloudapi.net",
            Cloud::AzureChinaCloud => "https://management.chinacloudapi.cn",
            Cloud::Registered(r) => &r.resource_manager,
        }
    }

    /// The Microsoft Entra authority that signs tokens for this cloud.
    pub fn authority(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "https://login.microsoftonline.com",
            Cloud::AzureUsGovernment => "https://login.microsoftonline.us",
            Cloud::AzureChinaCloud => "https://login.chinacloudapi.cn",
            Cloud::Registered(r) => &r.active_directory,
        }
    }

    /// The token scope: the ARM endpoint, or a registered cloud's ARM audience (as az asks).
    pub fn scope(self) -> String {
        match self {
            Cloud::Registered(r) => format!("{}/.default", r.resource_id),
            _ => format!("{}/.default", self.arm_endpoint()),
        }
    }

    /// Log Analytics' resource id, as az's clouds carry it (`log_analytics_resource_id`): the
    /// query API's origin (`{it}/v1/workspaces/{id}/query`) and its tokens' audience. `None`
    /// for a registered cloud whose `clouds.config` names none.
    pub fn log_analytics(self) -> Option<&'static str> {
        match self {
            Cloud::AzureCloud => Some("https://api.loganalytics.io"),
            Cloud::AzureUsGovernment => Some("https://api.loganalytics.us"),
            Cloud::AzureChinaCloud => Some("https://api.loganalytics.azure.cn"),
            Cloud::Registered(r) => r.log_analytics.as_deref(),
        }
    }

    /// Token audiences ARM accepts in this cloud.
    pub fn audiences(self) -> Vec<String> {
        let mut audiences = vec![
            self.arm_endpoint().to_string(),
            format!("{}/", self.arm_endpoint()),
        ];
        match self {
            Cloud::AzureCloud => {
                audiences.push("https://management.core.windows.net/".into());
                audiences.push("https://management.core.windows.net".into());
            }
            Cloud::Registered(r) => {
                audiences.push(r.resource_id.clone());
                audiences.push(format!("{}/", r.resource_id));
            }
            _ => {}
        }
        audiences
    }

    pub fn configuration(self) -> CloudConfiguration {
        match self {
            Cloud::AzureCloud => CloudConfiguration::AzurePublic,
            Cloud::AzureUsGovernment => CloudConfiguration::AzureGovernment,
            Cloud::AzureChinaCloud => CloudConfiguration::AzureChina,
            Cloud::Registered(r) => {
                let mut custom = CustomConfiguration::default();
                custom.authority_host = r.active_directory.clone();
                custom.into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_map_to_endpoint_and_scope() {
        assert_eq!(
            Cloud::AzureCloud.scope(),
            "https://management.azure.com/.default"
        );
        assert_eq!(
            Cloud::AzureUsGovernment.arm_endpoint(),
            "https://management.usgovcloudapi.net"
        );
        assert_eq!(
            Cloud::AzureChinaCloud.scope(),
            "https://management.chinacloudapi.cn/.default"
        );
        assert!(
            Cloud::AzureCloud
                .audiences()
                .contains(&"https://management.core.windows.net/".to_string())
        );
    }

    #[test]
    fn a_registered_cloud_is_read_from_its_clouds_config_section() {
        let ini = ini::Ini::load_from_str(
            "[AzureCloud]\nprofile = latest\n\n[MyStack]\n\
             endpoint_resource_manager = https://management.local.azurestack.external/\n\
             endpoint_active_directory = https://login.stack.example\n\
             endpoint_active_directory_resource_id = https://management.adfs.stack.example/abc/\n\
             profile = 2020-09-01-hybrid\n",
        )
        .unwrap();
        let cloud = RegisteredCloud::from_clouds_config(&ini, "mystack").unwrap();
        let cloud = Cloud::Registered(Box::leak(Box::new(cloud)));
        assert_eq!(
            cloud.arm_endpoint(),
            "https://management.local.azurestack.external"
        );
        assert_eq!(cloud.authority(), "https://login.stack.example");
        assert_eq!(
            cloud.scope(),
            "https://management.adfs.stack.example/abc/.default"
        );
        assert!(RegisteredCloud::from_clouds_config(&ini, "AzureCloud").is_none());
        assert_eq!(cloud.log_analytics(), None);
        assert_eq!(
            Cloud::AzureUsGovernment.log_analytics(),
            Some("https://api.loganalytics.us")
        );
    }
}
