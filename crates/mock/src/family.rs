//! The calls the mock serves, as values: the compiled calls of the profile's contract plus
//! the calls a builder adds (`Builder::call`), each routed by (method, path) to the handler of
//! its shape, and, for each update call, what its pipeline needs (the typed request rules
//! compiled from its schema, and how its value is read and stored).
//!
//! It owns the routing table and the per-call facts derived once at start. It does not own any
//! answer (the calls in `crate::calls` answer), nor the contract: every path, method, member and
//! schema comes from `stockwire_schema` (`contract(profile).calls()`, `Call`,
//! `borrowed::RequestRules::for_call`).

use std::borrow::Cow;
use std::sync::Arc;

use stockwire_schema::borrowed::RequestRules;
use stockwire_schema::call::{Method, Shape};
use stockwire_schema::exchange::ListingLayout;
use stockwire_schema::{Call, Profile, contract};

/// How an update call's value is read and stored, from its item schema's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// A whole number from 0 to 2^31 - 1, written as an integer or a digit string (a stock
    /// count, stored as `u32`).
    Count,
    /// A JSON number, stored exactly as read (`f64`).
    Number,
}

/// An update call and what its pipeline needs.
#[derive(Debug)]
pub(crate) struct UpdateCall {
    /// The compiled call.
    pub call: Arc<Call>,
    /// Its request rules (how a body is read and checked).
    pub rules: RequestRules,
    /// How its value is read and stored.
    pub kind: ValueKind,
    /// Its path, as the journal keeps it.
    pub path: Cow<'static, str>,
    /// Whether it is the inventory push (`updateInventory`), the call scenario rules, rate
    /// limits, token request counts and the request counter are about.
    pub is_inventory: bool,
    /// Its ledger: an index into the count ledgers or into the number ledgers (by `kind`).
    pub ledger: usize,
}

/// What handles a route.
#[derive(Debug, Clone)]
pub(crate) enum Handler {
    /// A login.
    Auth,
    /// A count of listings.
    Count(Arc<Call>),
    /// A paged listing, and the layout its pages share.
    Listing(Arc<Call>, ListingLayout),
    /// An update: an index into [`Family::updates`].
    Update(usize),
}

/// One route: a call's method and path, and its handler.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// The call's id.
    pub id: &'static str,
    /// The path.
    pub path: Cow<'static, str>,
    /// The methods the call is made with.
    pub methods: Vec<Method>,
    /// The handler.
    pub handler: Handler,
}

/// What a (method, path) finds.
#[derive(Debug)]
pub(crate) enum Found<'f> {
    /// A route.
    Route(&'f Route),
    /// A path some call has, with another method: the methods it takes (`GET, POST`).
    WrongMethod(String),
    /// No call has the path.
    NoPath,
}

/// The calls the mock serves.
#[derive(Debug)]
pub(crate) struct Family {
    /// Every route, in the order of the contract's calls, then the added ones.
    pub routes: Vec<Route>,
    /// Every update call.
    pub updates: Vec<UpdateCall>,
    /// The inventory push's index in `updates`.
    pub inventory: usize,
    /// Ledgers of count-valued update calls.
    pub count_ledgers: usize,
    /// Ledgers of number-valued update calls.
    pub number_ledgers: usize,
}

/// Why a call cannot be served.
pub(crate) fn call_error(call: &Call, why: impl std::fmt::Display) -> String {
    format!("call `{}` ({}): {why}", call.id(), call.path())
}

impl Family {
    /// The contract's calls of `profile`, then `added` (a call whose id, or whose method and
    /// path, another call has is refused).
    pub fn new(profile: Profile, added: &[Arc<Call>]) -> Result<Family, String> {
        let builtin = contract(profile).calls();
        let mut me = Family {
            routes: Vec::new(),
            updates: Vec::new(),
            inventory: 0,
            count_ledgers: 0,
            number_ledgers: 0,
        };
        for c in builtin {
            // The contract is built once per process: its paths live as long as it does.
            me.add(c.clone(), Cow::Borrowed(c.path()))?;
        }
        for c in added {
            me.add(c.clone(), Cow::Owned(c.path().to_string()))?;
        }
        let inv = contract(profile).inventory().id();
        me.inventory = me
            .updates
            .iter()
            .position(|u| u.call.id() == inv)
            .ok_or_else(|| format!("the contract of {profile} has no `{inv}` call"))?;
        me.updates[me.inventory].is_inventory = true;
        Ok(me)
    }

    fn add(&mut self, call: Arc<Call>, path: Cow<'static, str>) -> Result<(), String> {
        if let Some(r) = self.routes.iter().find(|r| {
            r.id == call.id()
                || (r.path == path && r.methods.iter().any(|m| call.methods().contains(m)))
        }) {
            return Err(call_error(
                &call,
                format!("clashes with call `{}` ({})", r.id, r.path),
            ));
        }
        let handler = match call.shape() {
            Shape::Auth(_) => Handler::Auth,
            Shape::Count(_) => Handler::Count(call.clone()),
            Shape::Listing(m) => Handler::Listing(call.clone(), ListingLayout::of(m)),
            Shape::Update(m) => {
                let rules = RequestRules::for_call(&call).map_err(|e| call_error(&call, e))?;
                let ty = call
                    .item_schema()
                    .and_then(|s| s.pointer(&format!("/properties/{}/type", escape(m.value))))
                    .and_then(|t| t.as_str());
                let kind = match ty {
                    Some("integer" | "string") => ValueKind::Count,
                    Some("number") => ValueKind::Number,
                    other => {
                        return Err(call_error(
                            &call,
                            format!(
                                "its value `{}` is of type {}; the mock stores integers, digit strings and numbers",
                                m.value,
                                other.unwrap_or("(none)")
                            ),
                        ));
                    }
                };
                let ledger = match kind {
                    ValueKind::Count => {
                        self.count_ledgers += 1;
                        self.count_ledgers - 1
                    }
                    ValueKind::Number => {
                        self.number_ledgers += 1;
                        self.number_ledgers - 1
                    }
                };
                self.updates.push(UpdateCall {
                    call: call.clone(),
                    rules,
                    kind,
                    path: path.clone(),
                    is_inventory: false,
                    ledger,
                });
                Handler::Update(self.updates.len() - 1)
            }
        };
        self.routes.push(Route {
            id: call.id(),
            path,
            methods: call.methods().to_vec(),
            handler,
        });
        Ok(())
    }

    /// The route of `method` and `path`.
    pub fn find(&self, method: &str, path: &str) -> Found<'_> {
        let mut allow: Vec<&str> = Vec::new();
        for r in self.routes.iter().filter(|r| r.path == path) {
            if r.methods.iter().any(|m| m.as_str() == method) {
                return Found::Route(r);
            }
            allow.extend(r.methods.iter().map(|m| m.as_str()));
        }
        if allow.is_empty() {
            Found::NoPath
        } else {
            Found::WrongMethod(allow.join(", "))
        }
    }

    /// The update call with this id.
    pub fn update(&self, id: &str) -> Option<&UpdateCall> {
        self.updates.iter().find(|u| u.call.id() == id)
    }

    /// The inventory push.
    pub fn inventory(&self) -> &UpdateCall {
        &self.updates[self.inventory]
    }

    /// What this marketplace answers, for a 404: `GET|POST /authToken, …`.
    pub fn describe(&self) -> String {
        self.routes
            .iter()
            .map(|r| {
                let m: Vec<&str> = r.methods.iter().map(|m| m.as_str()).collect();
                format!("{} {}", m.join("|"), r.path)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A member name as a JSON pointer token.
fn escape(name: &str) -> Cow<'_, str> {
    if name.contains(['~', '/']) {
        Cow::Owned(name.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_family_routes_each_call_by_method_and_path() {
        for p in Profile::ALL {
            let f = Family::new(p, &[]).unwrap();
            assert_eq!(f.routes.len(), contract(p).calls().len());
            assert!(matches!(f.find("GET", "/products"), Found::Route(r) if r.id == "products"));
            assert!(matches!(f.find("POST", "/products"), Found::WrongMethod(m) if m == "GET"));
            assert!(matches!(f.find("GET", "/nope"), Found::NoPath));
            let inv = f.inventory();
            assert!(inv.is_inventory && inv.kind == ValueKind::Count);
            assert!(f.describe().contains("GET|POST /authToken"));
            // Adding a built-in call again is refused.
            let dup = contract(p).call("products").unwrap().clone();
            assert!(Family::new(p, &[dup]).unwrap_err().contains("clashes"));
        }
    }
}
