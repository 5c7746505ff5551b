//! Profiles: which version of the documentation a check or a mock follows.

use std::fmt;
use std::str::FromStr;

/// A version of the contract. The documentation is edited in place without version labels, so
/// stockwire names the two readings it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Profile {
    /// The contract as given (`updateinventory.md`): `inventory` is a JSON integer.
    #[default]
    V1,
    /// The public page as it reads today (`current-page.md`): `inventory` is a string of
    /// digits, optional `facilityCode`, `apiKey` header from `authtoken.md`.
    V2,
}

impl Profile {
    /// Every profile, in a stable order.
    pub const ALL: [Profile; 2] = [Profile::V1, Profile::V2];

    /// The lower-case name (`v1`, `v2`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::V1 => "v1",
            Profile::V2 => "v2",
        }
    }

    /// What sets the profile apart, in one line (for help texts and config schemas).
    pub fn summary(self) -> &'static str {
        match self {
            Profile::V1 => "Integer inventory (`updateinventory.md`).",
            Profile::V2 => "Digit-string inventory, optional facilityCode (the current page).",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile name that is not `v1` or `v2`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown profile `{0}` (known: v1, v2)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(Profile::V1),
            "v2" | "2" => Ok(Profile::V2),
            _ => Err(UnknownProfile(s.to_string())),
        }
    }
}

impl serde::Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Profile {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Profile".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one_of: Vec<serde_json::Value> = Profile::ALL
            .iter()
            .map(|p| serde_json::json!({"description": p.summary(), "type": "string", "const": p.as_str()}))
            .collect();
        schemars::json_schema!({
            "description": "The contract version (profile).",
            "oneOf": one_of,
        })
    }
}

impl<'de> serde::Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
