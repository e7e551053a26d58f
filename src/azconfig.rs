//! Reads what the Azure CLI has configured: `$AZURE_CONFIG_DIR/config` (defaults, output, cloud)
//! and `azureProfile.json` (the default subscription), with az's `AZURE_<SECTION>_<OPTION>`
//! environment overrides. Missing or unreadable files simply mean "not configured".

use std::path::PathBuf;

/// The largest az file read (`config`, `azureProfile.json`): az's own are kilobytes; a profile
/// with thousands of subscriptions is a few megabytes.
const MAX_AZ_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Default, Clone)]
pub struct AzConfig {
    dir: Option<PathBuf>,
    ini: Option<ini::Ini>,
}

/// One subscription from `azureProfile.json`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSubscription {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub user: Option<ProfileUser>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct ProfileUser {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, serde::Deserialize)]
struct Profile {
    #[serde(default)]
    subscriptions: Vec<ProfileSubscription>,
}

impl AzConfig {
    /// `$AZURE_CONFIG_DIR`, else `~/.azure`.
    pub fn load() -> Self {
        let dir = std::env::var_os("AZURE_CONFIG_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".azure")));
        let ini = dir
            .as_ref()
            // Bounded, regular files only: a FIFO or /dev/zero in its place must not hang or fill memory.
            .and_then(|d| {
                crate::arm::files::read_bounded(&d.join("config"), MAX_AZ_FILE_BYTES).ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| ini::Ini::load_from_str(&text).ok());
        AzConfig { dir, ini }
    }

    /// A configuration read from `config` text, with no directory (tests).
    #[cfg(test)]
    pub fn from_text(text: &str) -> Self {
        AzConfig {
            dir: None,
            ini: ini::Ini::load_from_str(text).ok(),
        }
    }

    /// A setting, environment first (`AZURE_DEFAULTS_GROUP` for `[defaults] group`), as az reads it.
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        let env_name = format!("AZURE_{}_{}", section.to_uppercase(), key.to_uppercase());
        if let Ok(value) = std::env::var(env_name) {
            return Some(value).filter(|v| !v.trim().is_empty());
        }
        self.ini
            .as_ref()?
            .section(Some(section))?
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A boolean setting as Python's configparser reads it (`1/yes/true/on`, `0/no/false/off`,
    /// any case); anything else counts as unset.
    pub fn get_bool(&self, section: &str, key: &str) -> Option<bool> {
        match self.get(section, key)?.to_ascii_lowercase().as_str() {
            "1" | "yes" | "true" | "on" => Some(true),
            "0" | "no" | "false" | "off" => Some(false),
            _ => None,
        }
    }

    /// `clouds.config`: the clouds registered with `az cloud register`.
    pub fn clouds_config(&self) -> Option<ini::Ini> {
        let text = std::fs::read_to_string(self.dir.as_ref()?.join("clouds.config")).ok()?;
        ini::Ini::load_from_str(&text).ok()
    }

    /// The directory az keeps its configuration in.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.clone()
    }

    pub fn default_group(&self) -> Option<String> {
        self.get("defaults", "group")
    }

    pub fn default_location(&self) -> Option<String> {
        self.get("defaults", "location")
    }

    /// The subscriptions az knows, from `azureProfile.json` (which az writes with a UTF-8 BOM).
    pub fn profile_subscriptions(&self) -> Vec<ProfileSubscription> {
        let Some(dir) = &self.dir else {
            return Vec::new();
        };
        let Ok(bytes) =
            crate::arm::files::read_bounded(&dir.join("azureProfile.json"), MAX_AZ_FILE_BYTES)
        else {
            return Vec::new();
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        serde_json::from_slice::<Profile>(bytes)
            .map(|p| p.subscriptions)
            .unwrap_or_default()
    }

    /// The az account a token cache key follows: the config directory and the default
    /// subscription's user and tenant, so `az login` as someone else misses the cache.
    pub fn account_key(&self) -> String {
        let account = self
            .default_subscription()
            .map(|s| {
                format!(
                    "{}@{}",
                    s.user.map(|u| u.name).unwrap_or_default(),
                    s.tenant_id.unwrap_or_default()
                )
            })
            .unwrap_or_default();
        format!(
            "{}|{account}",
            self.dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        )
    }

    pub fn default_subscription(&self) -> Option<ProfileSubscription> {
        self.profile_subscriptions()
            .into_iter()
            .find(|s| s.is_default)
    }
}
