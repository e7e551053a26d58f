//! Fleet work shared by `audit`, `plan`, `apply` and `export`: which subscriptions are searched
//! (through the one resolver, `subscription.rs`) and the clusters in them (`discovery`: Resource
//! Graph or ARM's listing, one reading of a listed cluster), the bound on requests in flight
//! (`slots`), and the role catalogs read once per subscription and location (`catalogs`).

pub mod catalogs;
pub mod discovery;
pub mod listing;
pub mod slots;
