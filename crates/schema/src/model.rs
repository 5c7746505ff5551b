//! Typed serde models of the exchange. They tolerate unknown fields (kept in `extra`) so that a
//! payload read and written again loses nothing.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::profile::Profile;

/// The body of `POST /updateInventory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryRequest {
    /// The items whose stock is being set.
    pub inventory_list: Vec<InventoryItem>,
    /// Members the contract does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InventoryRequest {
    /// A request holding `items` and nothing else.
    pub fn new(items: Vec<InventoryItem>) -> Self {
        InventoryRequest {
            inventory_list: items,
            extra: Map::new(),
        }
    }

    /// The (productId, variantId) pairs of the request, in order (duplicates kept).
    pub fn keys(&self) -> Vec<ItemKey> {
        self.inventory_list.iter().map(InventoryItem::key).collect()
    }
}

/// Identifies an item: the (productId, variantId) pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemKey {
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
}

impl ItemKey {
    /// A key from its two ids.
    pub fn new(product_id: impl Into<String>, variant_id: impl Into<String>) -> Self {
        ItemKey {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
        }
    }
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.product_id, self.variant_id)
    }
}

/// One entry of `inventoryList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItem {
    /// Product ID.
    pub product_id: String,
    /// Variant ID.
    pub variant_id: String,
    /// The absolute stock count to set.
    pub inventory: Inventory,
    /// Harmonized System code (optional, free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsn_code: Option<String>,
    /// The seller's warehouse code on the channel (v2, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_code: Option<String>,
    /// Members the contract does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InventoryItem {
    /// An item with `count` written the way `profile` sends it.
    pub fn new(
        profile: Profile,
        product_id: impl Into<String>,
        variant_id: impl Into<String>,
        count: u32,
    ) -> Self {
        InventoryItem {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
            inventory: Inventory::for_profile(profile, count),
            hsn_code: None,
            facility_code: None,
            extra: Map::new(),
        }
    }

    /// The item's (productId, variantId) pair.
    pub fn key(&self) -> ItemKey {
        ItemKey::new(&self.product_id, &self.variant_id)
    }
}

/// The `inventory` value as sent: a JSON number (v1) or a string of digits (v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Inventory {
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string.
    Text(String),
}

impl Inventory {
    /// `count` in the form `profile` uses.
    pub fn for_profile(profile: Profile, count: u32) -> Self {
        match profile {
            Profile::V1 => Inventory::Number(count.into()),
            Profile::V2 => Inventory::Text(count.to_string()),
        }
    }

    /// The stock count, if the value is a whole number in 0..2^31 written either way (a JSON
    /// integer or a string of ASCII digits).
    pub fn count(&self) -> Option<u32> {
        let n = match self {
            Inventory::Number(n) => n.as_u64()?,
            Inventory::Text(s) => {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let t = s.trim_start_matches('0');
                if t.len() > 10 {
                    return None;
                }
                if t.is_empty() {
                    0
                } else {
                    t.parse::<u64>().ok()?
                }
            }
        };
        u32::try_from(n).ok().filter(|&n| n <= i32::MAX as u32)
    }
}

/// The `status` of a response. Values outside the contract are kept in [`Status::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// Every item was applied.
    Success,
    /// Nothing was applied.
    Failed,
    /// Some items were applied, some failed.
    PartialSuccess,
    /// A value the contract does not allow.
    Other(String),
}

impl Status {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::PartialSuccess => "PARTIAL_SUCCESS",
            Status::Other(s) => s,
        }
    }

    /// Reads a wire value.
    pub fn parse(s: &str) -> Status {
        match s {
            "SUCCESS" => Status::Success,
            "FAILED" => Status::Failed,
            "PARTIAL_SUCCESS" => Status::PartialSuccess,
            other => Status::Other(other.to_string()),
        }
    }

    /// The status the rules require when `failed` of `sent` distinct items failed:
    /// none → SUCCESS, all → FAILED, otherwise PARTIAL_SUCCESS.
    pub fn for_outcome(sent: usize, failed: usize) -> Status {
        if failed == 0 {
            Status::Success
        } else if failed >= sent {
            Status::Failed
        } else {
            Status::PartialSuccess
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Status::parse(&String::deserialize(d)?))
    }
}

/// One entry of `failedProductList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedProduct {
    /// Product ID of the failed item.
    pub product_id: String,
    /// Variant ID of the failed item.
    pub variant_id: String,
    /// Why it failed.
    pub message: String,
    /// Members the contract does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl FailedProduct {
    /// A failed entry for `key` with `message`.
    pub fn new(key: &ItemKey, message: impl Into<String>) -> Self {
        FailedProduct {
            product_id: key.product_id.clone(),
            variant_id: key.variant_id.clone(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// The entry's (productId, variantId) pair.
    pub fn key(&self) -> ItemKey {
        ItemKey::new(&self.product_id, &self.variant_id)
    }
}

/// The body answered by `POST /updateInventory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryResponse {
    /// Outcome of the request.
    pub status: Status,
    /// Items whose update failed; absent and empty mean the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_product_list: Option<Vec<FailedProduct>>,
    /// Members the contract does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InventoryResponse {
    /// The response for a processed request: `failed` holds one entry per failed item, and the
    /// status follows from how many of the distinct `sent` pairs failed, as the rules require.
    pub fn for_outcome(sent: &[ItemKey], failed: Vec<FailedProduct>) -> Self {
        let distinct_sent: std::collections::HashSet<&ItemKey> = sent.iter().collect();
        let distinct_failed: std::collections::HashSet<ItemKey> =
            failed.iter().map(FailedProduct::key).collect();
        InventoryResponse {
            status: Status::for_outcome(distinct_sent.len(), distinct_failed.len()),
            failed_product_list: Some(failed),
            extra: Map::new(),
        }
    }

    /// The response for a request refused as a whole: FAILED with an empty list.
    pub fn rejected() -> Self {
        InventoryResponse {
            status: Status::Failed,
            failed_product_list: Some(Vec::new()),
            extra: Map::new(),
        }
    }

    /// The failed entries (empty when the list is absent).
    pub fn failed(&self) -> &[FailedProduct] {
        self.failed_product_list.as_deref().unwrap_or(&[])
    }
}

/// The body answered by `/authToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthTokenResponse {
    /// `SUCCESS`, `FAILED` or `INVALID_CREDENTIALS`.
    pub status: String,
    /// The token for the `apiKey` header (present on SUCCESS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Members the contract does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The credentials of `/authToken` (query string of the GET, body of the POST).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthTokenRequest {
    /// Seller username.
    pub username: String,
    /// Seller password.
    pub password: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_unknown_fields() {
        let raw = json!({"inventoryList": [{"productId": "P", "variantId": "V", "inventory": "7", "facilityCode": "F", "colour": "red"}], "batch": 3});
        let req: InventoryRequest = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(req.inventory_list[0].inventory.count(), Some(7));
        assert_eq!(req.inventory_list[0].extra["colour"], "red");
        assert_eq!(serde_json::to_value(&req).unwrap(), raw);
    }

    #[test]
    fn inventory_count_accepts_both_spellings_within_range() {
        let n = |v: Value| serde_json::from_value::<Inventory>(v).unwrap().count();
        assert_eq!(n(json!(0)), Some(0));
        assert_eq!(n(json!("0010")), Some(10));
        assert_eq!(n(json!(2147483647)), Some(2147483647));
        assert_eq!(n(json!(2147483648u64)), None);
        assert_eq!(n(json!(-1)), None);
        assert_eq!(n(json!(1.5)), None);
        assert_eq!(n(json!("1e3")), None);
        assert_eq!(n(json!("")), None);
        assert_eq!(n(json!("٣")), None);
    }

    #[test]
    fn status_follows_the_outcome() {
        let a = ItemKey::new("P", "A");
        let b = ItemKey::new("P", "B");
        let sent = vec![a.clone(), b.clone(), a.clone()];
        assert_eq!(
            InventoryResponse::for_outcome(&sent, vec![]).status,
            Status::Success
        );
        let r = InventoryResponse::for_outcome(&sent, vec![FailedProduct::new(&a, "x")]);
        assert_eq!(r.status, Status::PartialSuccess);
        let r = InventoryResponse::for_outcome(
            &sent,
            vec![FailedProduct::new(&a, "x"), FailedProduct::new(&b, "y")],
        );
        assert_eq!(r.status, Status::Failed);
        let unknown: InventoryResponse = serde_json::from_value(json!({"status": "OK"})).unwrap();
        assert_eq!(unknown.status, Status::Other("OK".into()));
        assert!(unknown.failed().is_empty());
    }

    proptest::proptest! {
        /// The model's reading of `inventory` agrees with the schema's: whatever the schema
        /// accepts has a count, and whatever it rejects has none.
        #[test]
        fn count_agrees_with_the_v2_schema(s in "[0-9]{0,12}|[-+ 0-9a-z.]{0,6}|\\PC{0,4}") {
            let item = serde_json::json!({"productId": "P", "variantId": "V", "inventory": s});
            let valid = crate::contract(Profile::V2).validate_item(0, &item).is_empty();
            proptest::prop_assert_eq!(valid, Inventory::Text(s.clone()).count().is_some(), "{:?}", s);
        }

        #[test]
        fn count_agrees_with_the_v1_schema(n in proptest::prop_oneof![-5i64..5, 2147483640i64..2147483656, proptest::num::i64::ANY]) {
            let item = serde_json::json!({"productId": "P", "variantId": "V", "inventory": n});
            let valid = crate::contract(Profile::V1).validate_item(0, &item).is_empty();
            proptest::prop_assert_eq!(valid, Inventory::Number(n.into()).count().is_some(), "{}", n);
        }
    }
}
