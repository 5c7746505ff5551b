//! The API family as values: one definition per call a marketplace builds for the
//! order-management system.
//!
//! A [`CallDef`] says which page documents the call (per [`Profile`]) and which members of its
//! exchange carry what the caller's flow needs: the ids, the value, the failures. Everything
//! else is read from the page: the method and path from its "Basic Information" table, the
//! usage (mandatory or optional), and the query, body and response schemas derived from its
//! tables (and examples) plus overlays. [`crate::contract::Call`] is a definition compiled for
//! one profile.
//!
//! The [`Shape`] of a call is what the mock and the runner dispatch on: a login, a count, a
//! paged listing, or an update (a list of items, each with two ids and one value, answered by a
//! status and a list of failed items). A new call of a known shape is its page plus one
//! definition; the mock serves it and the runner runs it without code of its own. Only a new
//! shape needs new code.
//!
//! ```
//! use stockwire_schema::call::{self, Shape};
//!
//! let update = call::find("updateInventory").unwrap();
//! let Shape::Update(m) = update.shape else { unreachable!() };
//! assert_eq!((m.list, m.value, m.failures), ("inventoryList", "inventory", "failedProductList"));
//! assert_eq!(call::FAMILY.len(), 4);
//! ```

use std::fmt;

use crate::profile::Profile;

/// An HTTP method a call is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`: parameters in the query string.
    Get,
    /// `POST`: a JSON body.
    Post,
}

impl Method {
    /// The method's name (`GET`, `POST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }

    /// The method named `s` (case-insensitive), if it is one a call may use.
    pub fn parse(s: &str) -> Option<Method> {
        if s.eq_ignore_ascii_case("GET") {
            Some(Method::Get)
        } else if s.eq_ignore_ascii_case("POST") {
            Some(Method::Post)
        } else {
            None
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a marketplace must build a call before it goes live (the page's "Usage" row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Usage {
    /// The caller's flow needs it.
    Mandatory,
    /// The caller uses it when the marketplace offers it.
    Optional,
}

/// The members of a login: credentials in, a token out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthMembers {
    /// The seller's username (query parameter, or member of the POST body).
    pub username: &'static str,
    /// The seller's password.
    pub password: &'static str,
    /// The outcome in the answer.
    pub status: &'static str,
    /// The token for the `apiKey` header, in the answer.
    pub token: &'static str,
}

/// The members of a count of the seller's listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountMembers {
    /// The count in the answer.
    pub count: &'static str,
    /// The query parameter that selects published listings.
    pub published: &'static str,
    /// The error message of a refused request.
    pub message: &'static str,
}

/// The members of a paged listing of products, each with its variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingMembers {
    /// The query parameter of the page number (1-based).
    pub page_number: &'static str,
    /// The query parameter of the page size.
    pub page_size: &'static str,
    /// The query parameter that restricts the answer to some SKU codes.
    pub filter: &'static str,
    /// The query parameter that selects published listings.
    pub published: &'static str,
    /// The list of products in the answer.
    pub products: &'static str,
    /// A product's id (the `productId` the update call receives).
    pub product_id: &'static str,
    /// A product's variants.
    pub variants: &'static str,
    /// A variant's id (the `variantId` the update call receives).
    pub variant_id: &'static str,
    /// A variant's SKU code, which the caller maps to its own.
    pub sku: &'static str,
    /// A variant's value, as set by the update call named by `value_of`.
    pub value: &'static str,
    /// Units of the value held back (orders not yet shipped), when the listing shows them.
    pub blocked: Option<&'static str>,
    /// The update call whose value the listing shows (`updateInventory`).
    pub value_of: &'static str,
    /// The error message of a refused request.
    pub message: &'static str,
}

/// The members of an update: a list of items, each named by two ids and carrying one value,
/// answered with a status and the items that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateMembers {
    /// The request's list of items.
    pub list: &'static str,
    /// An item's product id.
    pub product_id: &'static str,
    /// An item's variant id.
    pub variant_id: &'static str,
    /// An item's value (the stock count of `/updateInventory`).
    pub value: &'static str,
    /// An item's optional place (the seller's warehouse code), when the call has one.
    pub place: Option<&'static str>,
    /// The answer's outcome.
    pub status: &'static str,
    /// The answer's list of failed items.
    pub failures: &'static str,
    /// A failed item's reason (also the reason of a whole-request refusal).
    pub message: &'static str,
}

/// What part a call plays in the caller's flow, with the members that carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A login.
    Auth(AuthMembers),
    /// A count of the seller's listings.
    Count(CountMembers),
    /// A paged listing.
    Listing(ListingMembers),
    /// An update of a value per item.
    Update(UpdateMembers),
}

impl Shape {
    /// The group a report files the call's checks under: `authentication`, `count`, `listing`
    /// or `update`.
    pub fn group(&self) -> &'static str {
        match self {
            Shape::Auth(_) => "authentication",
            Shape::Count(_) => "count",
            Shape::Listing(_) => "listing",
            Shape::Update(_) => "update",
        }
    }
}

/// One call of the family: where it is documented and which members carry what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallDef {
    /// Stable id, the path without its slash (`updateInventory`); reports, configs, the
    /// mock's journal and scenario rules name the call by it.
    pub id: &'static str,
    /// Front matter id of the page that documents the call.
    pub page: &'static str,
    /// Profiles that read another page (the inventory push was edited in place).
    pub page_by_profile: &'static [(Profile, &'static str)],
    /// Its role and members.
    pub shape: Shape,
}

impl CallDef {
    /// The page this call is read from under `profile`.
    pub fn page_id(&self, profile: Profile) -> &'static str {
        self.page_by_profile
            .iter()
            .find(|(p, _)| *p == profile)
            .map_or(self.page, |(_, id)| id)
    }

    /// File-name stem of the call's schemas and overlays (`updateinventory`).
    pub fn stem(&self) -> String {
        self.id.to_ascii_lowercase()
    }

    /// The update members, when the call is an update.
    pub fn update(&self) -> Option<&UpdateMembers> {
        match &self.shape {
            Shape::Update(m) => Some(m),
            _ => None,
        }
    }

    /// The listing members, when the call is a listing.
    pub fn listing(&self) -> Option<&ListingMembers> {
        match &self.shape {
            Shape::Listing(m) => Some(m),
            _ => None,
        }
    }

    /// The count members, when the call is a count.
    pub fn count(&self) -> Option<&CountMembers> {
        match &self.shape {
            Shape::Count(m) => Some(m),
            _ => None,
        }
    }

    /// The login members, when the call is a login.
    pub fn auth(&self) -> Option<&AuthMembers> {
        match &self.shape {
            Shape::Auth(m) => Some(m),
            _ => None,
        }
    }
}

/// `/authToken`: the seller's credentials for a token.
pub const AUTH_TOKEN: CallDef = CallDef {
    id: "authToken",
    page: "authtoken",
    page_by_profile: &[],
    shape: Shape::Auth(AuthMembers {
        username: "username",
        password: "password",
        status: "status",
        token: "accessToken",
    }),
};

/// `/productsCount`: how many published variants the seller lists.
pub const PRODUCTS_COUNT: CallDef = CallDef {
    id: "productsCount",
    page: "productscount",
    page_by_profile: &[],
    shape: Shape::Count(CountMembers {
        count: "count",
        published: "publishedStatus",
        message: "message",
    }),
};

/// `/products`: the seller's published listings, page by page.
pub const PRODUCTS: CallDef = CallDef {
    id: "products",
    page: "getproducts",
    page_by_profile: &[],
    shape: Shape::Listing(ListingMembers {
        page_number: "pageNumber",
        page_size: "pageSize",
        filter: "skus",
        published: "publishedStatus",
        products: "products",
        product_id: "id",
        variants: "variants",
        variant_id: "variantId",
        sku: "sku",
        value: "inventory",
        blocked: Some("blockedInventory"),
        value_of: "updateInventory",
        message: "message",
    }),
};

/// The members of `/updateInventory`.
pub const INVENTORY_MEMBERS: UpdateMembers = UpdateMembers {
    list: "inventoryList",
    product_id: "productId",
    variant_id: "variantId",
    value: "inventory",
    place: Some("facilityCode"),
    status: "status",
    failures: "failedProductList",
    message: "message",
};

/// `/updateInventory`: the absolute stock of a batch of items.
pub const UPDATE_INVENTORY: CallDef = CallDef {
    id: "updateInventory",
    page: "updateinventory",
    page_by_profile: &[(Profile::V2, "updateinventory-current")],
    shape: Shape::Update(INVENTORY_MEMBERS),
};

/// Every call stockwire has a page for, in the order the caller's flow makes them.
pub const FAMILY: [&CallDef; 4] = [&AUTH_TOKEN, &PRODUCTS_COUNT, &PRODUCTS, &UPDATE_INVENTORY];

/// The built-in call with this id.
pub fn find(id: &str) -> Option<&'static CallDef> {
    FAMILY.iter().copied().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_stems_lower_case() {
        for (i, a) in FAMILY.iter().enumerate() {
            assert!(FAMILY[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
            assert_eq!(a.stem(), a.id.to_lowercase());
        }
        assert_eq!(UPDATE_INVENTORY.page_id(Profile::V1), "updateinventory");
        assert_eq!(
            UPDATE_INVENTORY.page_id(Profile::V2),
            "updateinventory-current"
        );
        assert_eq!(PRODUCTS.page_id(Profile::V2), "getproducts");
        assert!(find("products").and_then(CallDef::listing).is_some());
        assert!(find("nope").is_none());
    }
}
