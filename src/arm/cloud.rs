//! Azure clouds: each maps to its ARM endpoint, sign-in authority and token scope.

use crate::error::{Error, Result};
use azure_core::cloud::CloudConfiguration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cloud {
    #[value(name = "AzureCloud", alias = "azurecloud")]
    AzureCloud,
    #[value(name = "AzureUSGovernment", alias = "azureusgovernment")]
    AzureUsGovernment,
    #[value(name = "AzureChinaCloud", alias = "azurechinacloud")]
    AzureChinaCloud,
}

impl Cloud {
    /// `--cloud`, else az's active cloud (`configured`: `[cloud] name`, `AZURE_CLOUD_NAME`, read
    /// by the caller so this layer does not depend on az's configuration), else AzureCloud.
    pub fn resolve(flag: Option<Cloud>, configured: Option<String>) -> Result<Cloud> {
        if let Some(cloud) = flag {
            return Ok(cloud);
        }
        match configured {
            None => Ok(Cloud::AzureCloud),
            Some(name) => {
                <Cloud as clap::ValueEnum>::from_str(&name, true).map_err(|_| Error::Config {
                    message: format!("az's active cloud '{name}' is not one this tool knows"),
                    hint: Some(
                        "use --cloud AzureCloud, AzureUSGovernment or AzureChinaCloud".into(),
                    ),
                })
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "AzureCloud",
            Cloud::AzureUsGovernment => "AzureUSGovernment",
            Cloud::AzureChinaCloud => "AzureChinaCloud",
        }
    }

    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "https://management.azure.com",
            Cloud::AzureUsGovernment => "https://management.usgovcloudapi.net",
            Cloud::AzureChinaCloud => "https://management.chinacloudapi.cn",
        }
    }

    /// The Microsoft Entra authority that signs tokens for this cloud.
    pub fn authority(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "https://login.microsoftonline.com",
            Cloud::AzureUsGovernment => "https://login.microsoftonline.us",
            Cloud::AzureChinaCloud => "https://login.chinacloudapi.cn",
        }
    }

    pub fn scope(self) -> String {
        format!("{}/.default", self.arm_endpoint())
    }

    /// Token audiences ARM accepts in this cloud.
    pub fn audiences(self) -> Vec<String> {
        let mut audiences = vec![
            self.arm_endpoint().to_string(),
            format!("{}/", self.arm_endpoint()),
        ];
        if self == Cloud::AzureCloud {
            audiences.push("https://management.core.windows.net/".into());
            audiences.push("https://management.core.windows.net".into());
        }
        audiences
    }

    pub fn configuration(self) -> CloudConfiguration {
        match self {
            Cloud::AzureCloud => CloudConfiguration::AzurePublic,
            Cloud::AzureUsGovernment => CloudConfiguration::AzureGovernment,
            Cloud::AzureChinaCloud => CloudConfiguration::AzureChina,
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
}
