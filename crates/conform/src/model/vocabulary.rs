//! The words a check is described with, shared by the checks, the settings and the reports: what
//! part of the contract it looks at ([`Category`]), and what it needs from the run beyond a
//! reachable target ([`Need`]: a [`Resource`], and the [`Loss`] without it). Plain data; it uses
//! nothing else of the crate.

use serde::{Deserialize, Serialize};

/// What part of the contract a check looks at.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// The shape of one response.
    Response,
    /// The contract's semantic rules (from stockwire-schema).
    Semantic,
    /// Whether each item got the outcome its data calls for.
    Outcome,
    /// Time-outs, crashes, dropped connections, refusal of invalid input.
    Robustness,
    /// The apiKey and the token call.
    Auth,
    /// Relations between several requests (order, batch, repetition).
    Metamorphic,
    /// Latency.
    Performance,
    /// What the partner stored, read back after the answer.
    State,
    /// The catalog calls: the count and the listing of the seller's products.
    Catalog,
}

impl Category {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Response => "response",
            Category::Semantic => "semantic",
            Category::Outcome => "outcome",
            Category::Robustness => "robustness",
            Category::Auth => "auth",
            Category::Metamorphic => "metamorphic",
            Category::Performance => "performance",
            Category::State => "state",
            Category::Catalog => "catalog",
        }
    }
}

/// Something a run may lack that some checks depend on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    /// Items the test seller is known to hold (`--catalog`, `--item`).
    Catalog,
    /// A way to read the partner's stock before and after a request.
    StockProbe,
    /// An apiKey or seller credentials.
    Credentials,
    /// Seller credentials for `/authToken` (not just an apiKey).
    Login,
    /// The catalog discovered through the catalog calls (off with `--no-discovery`).
    Discovery,
    /// A second seller's credentials (`--second-seller-*`).
    SecondSeller,
}

impl Resource {
    /// What is missing, for messages ("without a catalog").
    pub fn missing(self) -> &'static str {
        match self {
            Resource::Catalog => "without a catalog",
            Resource::StockProbe => "without a stock probe",
            Resource::Credentials => "without credentials",
            Resource::Login => "without seller credentials",
            Resource::Discovery => "with --no-discovery",
            Resource::SecondSeller => "with one seller",
        }
    }

    /// How a user provides it.
    pub fn remedy(self) -> &'static str {
        match self {
            Resource::Catalog => "give known items with --catalog FILE or --item JSON, repeatable",
            Resource::StockProbe => {
                "give --stock-probe 'COMMAND' that prints an item's stored stock; a stockwire mock's GET /__admin/ledger is used when present"
            }
            Resource::Credentials => "give --api-key, or --username and --password",
            Resource::Login => "give --username and --password instead of --api-key",
            Resource::Discovery => {
                "drop --no-discovery once /productsCount and /products are built"
            }
            Resource::SecondSeller => {
                "give another seller of the same account: --second-seller-username and --second-seller-password, or --second-seller-api-key"
            }
        }
    }
}

/// How much of a check is lost without a resource.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// It still runs, but proves less (e.g. only that refusals are consistent).
    Weakened,
    /// It cannot run at all.
    Skipped,
}

/// One dependency of a check: the resource, what is lost without it, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// What the check depends on.
    pub resource: Resource,
    /// What it loses without it.
    pub loss: Loss,
    /// Why, in one line (shown at the start of the run and in the report).
    pub why: &'static str,
}
