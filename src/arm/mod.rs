//! Azure Resource Manager: the one request path and everything it needs.

pub mod api;
pub mod auth;
pub mod budget;
pub mod client;
pub mod cloud;
pub mod error;
pub mod files;
pub mod graph;
pub mod graph_quota;
pub mod loganalytics;
pub mod lro;
pub mod models;
pub mod paging;
pub mod resources;
pub mod retry;
pub mod transport;
