//! Reading what the partner stored, one item at a time, through one interface: the user's
//! `--stock-probe` command ([`crate::readers::probe`]), the stockwire-mock admin ledger
//! (`GET /__admin/ledger`) when the target exposes one (the embedded mock does), or the
//! partner's own listing ([`crate::readers::listing`]).

use std::sync::Arc;

use stockwire_schema::ItemKey;

use crate::client::http::{Client, HttpRequest, Outcome};
use crate::readers::listing::{Listed, ListingReader};
use crate::readers::probe::{ItemRef, ProbeError, StockProbe};

/// Where stored stock is read from.
#[derive(Debug, Clone)]
pub enum StockReader {
    /// The user's probe command.
    Probe {
        /// The command.
        probe: Arc<StockProbe>,
        /// The seller under test (passed as `STOCKWIRE_SELLER`).
        seller: String,
    },
    /// `GET {base}/__admin/ledger?seller=` of a stockwire-mock.
    Ledger {
        /// Client.
        client: Box<Client>,
        /// The ledger URL.
        url: String,
        /// Seller whose rows count (`None`: rows of any seller).
        seller: Option<String>,
        /// The mock's admin token (`--admin-token`), sent as `Authorization: Bearer`.
        admin_token: Option<String>,
    },
    /// The partner's listing, filtered by SKU code.
    Listing(Box<ListingReader>),
}

impl StockReader {
    /// A ledger reader for `base`, when it answers 200 with `{"items": [...]}`.
    pub async fn ledger(
        client: &Client,
        base: &str,
        seller: Option<String>,
        admin_token: Option<String>,
    ) -> Option<Self> {
        let r = StockReader::Ledger {
            client: Box::new(client.clone()),
            url: format!("{}/__admin/ledger", base.trim_end_matches('/')),
            seller,
            admin_token,
        };
        match &r {
            StockReader::Ledger {
                client,
                url,
                admin_token,
                ..
            } => ledger_rows(client, url, admin_token.as_deref())
                .await
                .ok()
                .map(|_| r),
            StockReader::Probe { .. } | StockReader::Listing(_) => None,
        }
    }

    /// Whether the reader can see `key` at all (the listing sees only items with a SKU code).
    pub fn can_read(&self, key: &ItemKey) -> bool {
        match self {
            StockReader::Listing(l) => l.can_read(key),
            _ => true,
        }
    }

    /// What is read, for the report.
    pub fn describe(&self) -> String {
        match self {
            StockReader::Probe { probe, .. } => format!("stock probe `{}`", probe.command()),
            StockReader::Ledger { url, .. } => format!("ledger at {url}"),
            StockReader::Listing(l) => l.describe(),
        }
    }

    /// Reads every item of `keys` (probes run side by side); `Ok(None)` is "never set".
    pub async fn read_many(&self, keys: &[ItemKey]) -> Vec<Result<Option<i64>, ReadError>> {
        match self {
            StockReader::Listing(l) => l
                .read_many(keys)
                .await
                .into_iter()
                .map(|r| match r {
                    Listed::Value(v) => Ok(Some(v)),
                    Listed::NotShown(why) => Err(ReadError::Unknown(why)),
                    Listed::Failed(why) => Err(ReadError::Failed(why)),
                })
                .collect(),
            StockReader::Probe { probe, seller } => {
                let mut set = tokio::task::JoinSet::new();
                for (i, k) in keys.iter().enumerate() {
                    let probe = probe.clone();
                    let item = ItemRef {
                        product_id: k.product_id.clone(),
                        variant_id: k.variant_id.clone(),
                        seller: seller.clone(),
                        facility_code: String::new(),
                    };
                    set.spawn(async move { (i, probe.read(&item).await) });
                }
                let mut out: Vec<Result<Option<i64>, ReadError>> =
                    vec![
                        Err(ReadError::Failed("stock probe task did not finish".into()));
                        keys.len()
                    ];
                while let Some(joined) = set.join_next().await {
                    if let Ok((i, r)) = joined {
                        out[i] = r.map_err(|e| match e {
                            ProbeError::InvalidStock { .. } => ReadError::Invalid(e.to_string()),
                            e => ReadError::Failed(e.to_string()),
                        });
                    }
                }
                out
            }
            StockReader::Ledger {
                client,
                url,
                seller,
                admin_token,
            } => match ledger_rows(client, url, admin_token.as_deref()).await {
                Err(e) => vec![Err(ReadError::Failed(e)); keys.len()],
                Ok(rows) => keys
                    .iter()
                    .map(|k| {
                        Ok(rows.iter().find_map(|row| {
                            let mine = seller.is_none() || row.seller == *seller;
                            (mine
                                && row.product_id.as_deref() == Some(k.product_id.as_str())
                                && row.variant_id.as_deref() == Some(k.variant_id.as_str()))
                            .then_some(row.stock)
                            .flatten()
                        }))
                    })
                    .collect(),
            },
        }
    }
}

/// Why a read gave no stock value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The reader failed (a probe error, an unreadable ledger, a refused or unreadable listing
    /// answer): never evidence about the item.
    Failed(String),
    /// The reader cannot see the item (the listing does not show it): its stock is unknown,
    /// never "never set", and not an error.
    Unknown(String),
    /// The item holds a number that is no valid stock, in words: the partner stored an invalid
    /// value (`stored-value`).
    Invalid(String),
}

/// One row of the stockwire-mock admin ledger: the admin API's own format, by its serde names.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LedgerRow {
    #[serde(default)]
    seller: Option<String>,
    #[serde(default)]
    product_id: Option<String>,
    #[serde(default)]
    variant_id: Option<String>,
    #[serde(default)]
    stock: Option<i64>,
}

#[derive(Debug, serde::Deserialize)]
struct Ledger {
    items: Vec<LedgerRow>,
}

/// The ledger's rows (the admin API's own JSON, not the exchange).
async fn ledger_rows(
    client: &Client,
    url: &str,
    admin_token: Option<&str>,
) -> Result<Vec<LedgerRow>, String> {
    let req = HttpRequest {
        method: "GET".into(),
        url: url.to_string(),
        headers: admin_token
            .map(|t| crate::client::http::Header {
                name: "authorization".into(),
                value: format!("Bearer {t}"),
            })
            .into_iter()
            .collect(),
        body: String::new(),
    };
    match client.send(&req).await {
        Outcome::Response(r) if r.status == 200 => serde_json::from_str::<Ledger>(&r.body)
            .map(|l| l.items)
            .map_err(|e| format!("ledger at {url} answered an unexpected body: {e}")),
        Outcome::Response(r) => Err(format!("ledger at {url} answered HTTP {}", r.status)),
        Outcome::Failure { message, .. } => Err(format!("ledger at {url}: {message}")),
    }
}
