//! Every public Azure region, as `GET /subscriptions/{s}/locations` lists it (name, display
//! name, regional display name, geography group, category), so any region a user types works
//! and an unknown one is refused the way ARM refuses it.

/// One region: `(name, displayName, geographyGroup, regionCategory)`. The regional display name
/// is `(geographyGroup) displayName`.
pub type Region = (&'static str, &'static str, &'static str, &'static str);

/// The public cloud's physical regions (`az account list-locations`, physical ones, without the
/// early-access `*euap` ones and the logical geographies).
pub const REGIONS: &[Region] = &[
    ("eastus", "East US", "US", "Recommended"),
    ("eastus2", "East US 2", "US", "Recommended"),
    ("southcentralus", "South Central US", "US", "Recommended"),
    ("westus2", "West US 2", "US", "Recommended"),
    ("westus3", "West US 3", "US", "Recommended"),
    (
        "australiaeast",
        "Australia East",
        "Asia Pacific",
        "Recommended",
    ),
    (
        "southeastasia",
        "Southeast Asia",
        "Asia Pacific",
        "Recommended",
    ),
    ("northeurope", "North Europe", "Europe", "Recommended"),
    ("swedencentral", "Sweden Central", "Europe", "Recommended"),
    ("uksouth", "UK South", "Europe", "Recommended"),
    ("westeurope", "West Europe", "Europe", "Recommended"),
    ("centralus", "Central US", "US", "Recommended"),
    (
        "southafricanorth",
        "South Africa North",
        "Africa",
        "Recommended",
    ),
    (
        "centralindia",
        "Central India",
        "Asia Pacific",
        "Recommended",
    ),
    ("eastasia", "East Asia", "Asia Pacific", "Recommended"),
    (
        "indonesiacentral",
        "Indonesia Central",
        "Asia Pacific",
        "Recommended",
    ),
    ("japaneast", "Japan East", "Asia Pacific", "Recommended"),
    ("japanwest", "Japan West", "Asia Pacific", "Recommended"),
    (
        "koreacentral",
        "Korea Central",
        "Asia Pacific",
        "Recommended",
    ),
    (
        "malaysiawest",
        "Malaysia West",
        "Asia Pacific",
        "Recommended",
    ),
    (
        "newzealandnorth",
        "New Zealand North",
        "Asia Pacific",
        "Recommended",
    ),
    ("canadacentral", "Canada Central", "Canada", "Recommended"),
    ("austriaeast", "Austria East", "Europe", "Recommended"),
    ("francecentral", "France Central", "Europe", "Recommended"),
    (
        "germanywestcentral",
        "Germany West Central",
        "Europe",
        "Recommended",
    ),
    ("italynorth", "Italy North", "Europe", "Recommended"),
    ("norwayeast", "Norway East", "Europe", "Recommended"),
    ("polandcentral", "Poland Central", "Europe", "Recommended"),
    ("spaincentral", "Spain Central", "Europe", "Recommended"),
    (
        "switzerlandnorth",
        "Switzerland North",
        "Europe",
        "Recommended",
    ),
    ("mexicocentral", "Mexico Central", "Mexico", "Recommended"),
    ("uaenorth", "UAE North", "Middle East", "Recommended"),
    (
        "brazilsouth",
        "Brazil South",
        "South America",
        "Recommended",
    ),
    (
        "chilecentral",
        "Chile Central",
        "South America",
        "Recommended",
    ),
    (
        "israelcentral",
        "Israel Central",
        "Middle East",
        "Recommended",
    ),
    (
        "qatarcentral",
        "Qatar Central",
        "Middle East",
        "Recommended",
    ),
    ("northcentralus", "North Central US", "US", "Other"),
    ("westus", "West US", "US", "Other"),
    ("jioindiawest", "Jio India West", "Asia Pacific", "Other"),
    ("westcentralus", "West Central US", "US", "Other"),
    ("southafricawest", "South Africa West", "Africa", "Other"),
    (
        "australiacentral",
        "Australia Central",
        "Asia Pacific",
        "Other",
    ),
    (
        "australiacentral2",
        "Australia Central 2",
        "Asia Pacific",
        "Other",
    ),
    (
        "australiasoutheast",
        "Australia Southeast",
        "Asia Pacific",
        "Other",
    ),
    (
        "jioindiacentral",
        "Jio India Central",
        "Asia Pacific",
        "Other",
    ),
    ("koreasouth", "Korea South", "Asia Pacific", "Other"),
    ("southindia", "South India", "Asia Pacific", "Other"),
    ("westindia", "West India", "Asia Pacific", "Other"),
    ("canadaeast", "Canada East", "Canada", "Other"),
    ("francesouth", "France South", "Europe", "Other"),
    ("germanynorth", "Germany North", "Europe", "Other"),
    ("norwaywest", "Norway West", "Europe", "Other"),
    ("switzerlandwest", "Switzerland West", "Europe", "Other"),
    ("ukwest", "UK West", "Europe", "Other"),
    ("uaecentral", "UAE Central", "Middle East", "Other"),
    (
        "brazilsoutheast",
        "Brazil Southeast",
        "South America",
        "Other",
    ),
];

/// The region of this name (case-insensitive), if it is one.
pub fn region(name: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.0.eq_ignore_ascii_case(name))
}

/// The regions' names, comma-separated, as ARM lists "the supported locations".
pub fn names() -> String {
    REGIONS.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")
}

/// One region as `GET …/locations` answers it.
pub fn to_json(sub: &str, r: &Region) -> serde_json::Value {
    let (name, display, geography, category) = *r;
    serde_json::json!({
        "id": format!("/subscriptions/{sub}/locations/{name}"),
        "name": name,
        "displayName": display,
        "regionalDisplayName": format!("({geography}) {display}"),
        "type": "Region",
        "metadata": {
            "regionType": "Physical",
            "regionCategory": category,
            "geographyGroup": geography,
        },
    })
}
