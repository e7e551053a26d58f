//! Command logic: what to ask ARM and what data to return. Commands take resolved requests
//! (`resolve`), never print, never prompt and never import `cli`.

pub mod audit;
pub mod desired;
pub mod doctor;
pub mod fleet;
pub mod history;
pub mod role;
pub mod rolebinding;
pub mod workspace_history;

/// What a command hands to the output layer.
#[derive(Debug)]
pub enum Outcome {
    /// Data to print in the chosen format.
    Data(serde_json::Value),
    /// Nothing to print (delete).
    Nothing,
}
